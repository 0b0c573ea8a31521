/**
 * Every built-in output: one line per plugin (name, default set, module), imported on demand
 * (see core/registry.ts `loadRegistry`).
 */
import type { PluginEntry } from '../core/registry.js';

const output = (name: string, defaultEnabled: boolean, load: PluginEntry['load']): PluginEntry => ({ kind: 'output', name, defaultEnabled, load });

export const outputs: PluginEntry[] = [
  output('store', true, () => import('./store.js')),
  output('stdout', false, () => import('./stdout.js')),
  output('opentsdb', false, () => import('./opentsdb.js')),
  output('kairosdb', false, () => import('./kairosdb.js')),
  output('graphite', false, () => import('./graphite.js')),
  output('influxdb', false, () => import('./influxdb.js')),
  output('collectd', false, () => import('./collectd.js')),
  output('statsd', false, () => import('./statsd.js')),
  output('prometheus', false, () => import('./prometheus.js')),
  output('prometheus_remote_write', false, () => import('./prometheus-remote-write.js')),
  output('monasca', false, () => import('./monasca.js')),
  output('opentelemetry', false, () => import('./opentelemetry.js')),
];
