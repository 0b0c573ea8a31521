/**
 * The registry of built-in inputs: one line per plugin (name, default set, module). Modules are
 * imported only when a config uses them (see core/registry.ts `loadRegistry`).
 */
import type { PluginEntry } from '../core/registry.js';

const input = (name: string, defaultEnabled: boolean, load: PluginEntry['load']): PluginEntry => ({ kind: 'input', name, defaultEnabled, load });

export const inputs: PluginEntry[] = [
  input('cpu', true, () => import('./host/cpu.js')),
  input('memory', true, () => import('./host/memory.js')),
  input('load', true, () => import('./host/load.js')),
  input('uptime', true, () => import('./host/uptime.js')),
  input('disk', true, () => import('./host/disk.js')),
  input('diskio', true, () => import('./host/diskio.js')),
  input('net', true, () => import('./host/net.js')),
  input('netstat', true, () => import('./host/netstat.js')),
  input('processes', true, () => import('./host/processes.js')),
  input('pressure', true, () => import('./host/pressure.js')),
  input('kernel', true, () => import('./host/kernel.js')),
  input('agent', true, () => import('./host/agent.js')),
  input('exec', false, () => import('./exec/index.js')),
  input('check', false, () => import('./check.js')),
  input('heartbeat', false, () => import('./heartbeat.js')),
  input('statsd', true, () => import('./statsd.js')),
  input('collectd', false, () => import('./collectd.js')),
  input('opentsdb', false, () => import('./opentsdb.js')),
  input('graphite', false, () => import('./graphite.js')),
  input('influxdb', false, () => import('./influxdb.js')),
  input('prometheus', false, () => import('./prometheus.js')),
  input('remote_write', false, () => import('./remote-write.js')),
  input('redis', false, () => import('./redis.js')),
  input('memcached', false, () => import('./memcached.js')),
  input('nginx', false, () => import('./nginx.js')),
  input('apache', false, () => import('./apache.js')),
  input('haproxy', false, () => import('./haproxy.js')),
  input('postgresql', false, () => import('./postgresql.js')),
  input('mysql', false, () => import('./mysql.js')),
  input('procstat', false, () => import('./procstat.js')),
  input('opentelemetry', false, () => import('./opentelemetry.js')),
];
