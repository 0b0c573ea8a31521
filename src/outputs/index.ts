import type { OutputSpec } from '../core/plugin.js';
import store from './store.js';
import stdout from './stdout.js';
import opentsdb from './opentsdb.js';
import kairosdb from './kairosdb.js';
import graphite from './graphite.js';
import influxdb from './influxdb.js';
import collectd from './collectd.js';
import statsd from './statsd.js';
import prometheus from './prometheus.js';
import prometheusRemoteWrite from './prometheus-remote-write.js';
import monasca from './monasca.js';

/** Every built-in output: one line per plugin. */
export const outputs: OutputSpec[] = [store, stdout, opentsdb, kairosdb, graphite, influxdb, collectd, statsd, prometheus, prometheusRemoteWrite, monasca];
