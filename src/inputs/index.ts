/**
 * The registry of built-in inputs: one import and one entry per plugin.
 */
import type { InputSpec } from '../core/plugin.js';
import agent from './host/agent.js';
import cpu from './host/cpu.js';
import disk from './host/disk.js';
import diskio from './host/diskio.js';
import load from './host/load.js';
import memory from './host/memory.js';
import net from './host/net.js';
import netstat from './host/netstat.js';
import processes from './host/processes.js';
import uptime from './host/uptime.js';
import exec from './exec/index.js';
import check from './check.js';
import heartbeat from './heartbeat.js';
import statsd from './statsd.js';
import collectd from './collectd.js';
import opentsdb from './opentsdb.js';
import graphite from './graphite.js';
import influxdb from './influxdb.js';
import prometheus from './prometheus.js';

export const inputs: InputSpec[] = [
  cpu,
  memory,
  load,
  uptime,
  disk,
  diskio,
  net,
  netstat,
  processes,
  agent,
  exec,
  check,
  heartbeat,
  statsd,
  collectd,
  opentsdb,
  graphite,
  influxdb,
  prometheus,
];
