import { z } from 'zod/v3';
import { authFields } from '../net/auth.js';
import { zDuration, zSize } from '../model/quantities.js';
import { LOG_LEVELS } from '../core/logger.js';

/**
 * The schema of sonde's own config file, except the plugin sections, whose schemas come from the
 * plugins themselves (merged with the common keys below). The README's config reference is checked
 * against these `.describe()` texts by a test.
 */

const tagMap = z.record(z.string(), z.string());

export const agentSchema = z
  .strictObject({
    hostname: z.string().default('').describe('Value of the `host` tag; empty = the machine hostname.'),
    omit_hostname: z.boolean().default(false).describe('Do not add the `host` tag.'),
    data_dir: z.string().default('./sonde-data').describe('Where the store, queues and state live.'),
    interval: zDuration().default('10s').describe('Default collection interval of inputs.'),
    jitter: zDuration().default('0s').describe('Random delay added to each collection, up to this much.'),
    flush_interval: zDuration().default('10s').describe('How often outputs and aggregators flush.'),
    queue_size: z.number().int().positive().default(100_000).describe('Points the pipeline ingress queue holds before it drops (counted); acknowledged receivers wait for room instead, then answer 429.'),
    max_decode_bytes: zSize().default('64MiB').describe('Request body bytes being read and decoded at once, all receivers together; past it a request gets 503 with Retry-After.'),
    log_level: z.enum(LOG_LEVELS as [string, ...string[]]).default('info').describe('debug, info, warn, error or silent.'),
    log_format: z.enum(['text', 'json']).default('text').describe('Log line format on stderr.'),
    tags: tagMap.default({}).describe('Global tags added to every point (e.g. cluster, group, location).'),
    self_metrics: z.boolean().default(true).describe('Store the agent\'s own metrics under `sonde.` every interval.'),
    default_inputs: z
      .boolean()
      .default(true)
      .describe('Run the default inputs (host collectors, statsd) beside the ones listed in [inputs]; a listed plugin replaces its default instance. `false`: run exactly the listed inputs.'),
    default_outputs: z
      .boolean()
      .default(true)
      .describe('Keep the default output (the embedded store, when [store] is enabled) beside the ones listed in [outputs]. `false`: write exactly to the listed outputs.'),
  })
  .describe('[agent]');

export const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the HTTP API (and dashboard).'),
    listen: z.string().default('127.0.0.1:8470').describe('host:port of the API; non-loopback needs `token` or `basic_auth`.'),
    ...authFields('Bearer token required on every request when set.', '`user:password` required on every request when set.'),
    prometheus_prefix: z.string().regex(/^(\/[^/?#]+)+$|^$/, 'a path such as /prometheus, or "" to turn the API off').default('/prometheus').describe('Path of the Prometheus query API (PromQL); `""` turns it off.'),
    query_timeout: zDuration().default('2m').describe('Longest a PromQL query may run (its `timeout` parameter can only shorten it).'),
    query_max_samples: z.number().int().positive().default(50_000_000).describe('Most samples one PromQL query may read; past it the query fails (422).'),
  })
  .describe('[http]');

export const storeSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Open the embedded store (the default output and the query API).'),
    retention: zDuration().default('15d').describe('How long raw points are kept (by the wall clock).'),
    max_size: zSize().default(10 * 1024 ** 3).describe('Total size cap on disk; oldest chunks are dropped first.'),
    rollup_1m_retention: zDuration().default('90d').describe('How long 1-minute rollups are kept.'),
    rollup_1h_retention: zDuration().default('730d').describe('How long 1-hour rollups are kept.'),
    max_series: z
      .number()
      .int()
      .positive()
      .default(1_000_000)
      .describe('Most series the store holds (~1.2 KB of memory each); points of new series past it are refused and counted (`sonde.store_points_rejected{reason=series_limit}`). Series left without samples by retention are forgotten.'),
    max_future: zDuration()
      .default('10m')
      .describe('Points further ahead of the wall clock than this are refused and counted (`sonde.store_points_rejected{reason=future}`).'),
    fsync: z.enum(['never', 'batch']).default('never').describe('`batch` fsyncs the write-ahead log on every write (power-loss safety).'),
    worker: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .describe(
        '`"auto"`: the store runs on the agent\'s thread (its chunk writes, checkpoints and queries in slices of a few ms) and moves to a worker thread once it holds 10,000 series or takes 100,000 points/s (at start when `fsync = "batch"`); `true`: always a worker thread (~7.5 MB more memory); `false`: never.',
      ),
  })
  .describe('[store]');

/** Keys every input accepts, handled by the core. */
export const commonInputKeys = {
  interval: zDuration().optional().describe('Collection interval of this input (default: agent.interval).'),
  tags: tagMap.default({}).describe('Tags added to every point of this input.'),
  alias: z.string().optional().describe('Name of this instance in logs and self-metrics.'),
  name_prefix: z.string().default('').describe('Prefix added to every metric name of this input.'),
};

/** Keys every processor accepts. */
export const commonProcessorKeys = {
  alias: z.string().optional().describe('Name of this instance in logs and self-metrics.'),
  order: z.number().int().optional().describe('Position in the chain (default: order in the file).'),
};

/** Keys every output accepts, handled by the core's delivery queue. */
export const commonOutputKeys = {
  alias: z.string().optional().describe('Name of this instance in logs and self-metrics.'),
  batch_size: z.number().int().positive().default(5000).describe('Points per write.'),
  flush_interval: zDuration().optional().describe('Longest wait before a partial batch is written (default: agent.flush_interval).'),
  buffer_size: z.number().int().positive().default(100_000).describe('Points held in memory while the backend is slow or down; oldest dropped (counted) beyond it.'),
  include: z.array(z.string()).default([]).describe('Only these metric name globs go to this output (default all).'),
  exclude: z.array(z.string()).default([]).describe('Metric name globs never sent to this output.'),
  retry_max_delay: zDuration().default('1m').describe('Cap of the exponential backoff between retries.'),
  disk_queue: z.boolean().optional().describe('Write batches to an on-disk queue under <data_dir>/queues before sending, so they survive restarts and kill -9 (default: on, except for `store` and `stdout`).'),
  disk_queue_size: zSize().default(256 * 1024 ** 2).describe('Size cap of the on-disk queue; the oldest points are dropped (counted) beyond it.'),
  disk_queue_fsync: z.boolean().default(false).describe('fsync the on-disk queue on every batch (survives power loss; much slower).'),
  write_timeout: zDuration().default('0s').describe('A write still pending after this long is retried; 0 = no limit.'),
};

export type AgentSection = z.output<typeof agentSchema>;
export type HttpSection = z.output<typeof httpSchema>;
export type StoreSection = z.output<typeof storeSchema>;

export const TOP_LEVEL_KEYS = ['agent', 'http', 'store', 'alerting', 'inputs', 'processors', 'outputs'] as const;
