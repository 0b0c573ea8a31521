import { z } from 'zod/v3';
import { defineOutput } from '../core/plugin.js';

/**
 * The default output: the embedded store opened by the agent under `<data_dir>/store` ([store] section).
 * A write resolves once the points are in the store's write-ahead log.
 */
export default defineOutput({
  name: 'store',
  description: 'Embedded time-series store (the default output; queried by `sonde query`, the API and the dashboard).',
  defaultEnabled: true,
  // the store has its own write-ahead log; a short flush keeps what a kill -9 can lose small
  deliveryDefaults: { disk_queue: false, flush_interval: 1000 },
  schema: z.strictObject({}),
  create(_config, ctx) {
    return {
      ackAfterWrite: true,
      async write(points) {
        const store = ctx.store;
        if (!store) return { ok: false, retryable: false, error: 'the embedded store is disabled ([store] enabled = false)' };
        try {
          await store.write(points);
          return { ok: true };
        } catch (e) {
          return { ok: false, retryable: true, error: (e as Error).message };
        }
      },
      async writeBatches(batches) {
        const store = ctx.store;
        if (!store) return { ok: false, retryable: false, error: 'the embedded store is disabled ([store] enabled = false)' };
        try {
          await store.writeBatches(batches);
          return { ok: true };
        } catch (e) {
          return { ok: false, retryable: true, error: (e as Error).message };
        }
      },
      describe: () => [ctx.store ? `${ctx.dataDir}/store` : 'disabled'],
    };
  },
});
