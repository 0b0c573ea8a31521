import { z } from 'zod/v3';
import { defineOutput } from '../core/plugin.js';
import type { WriteResult } from '../model/write-result.js';

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
    /** A write to the store as the runner wants its answer: retryable while the WAL cannot be written. */
    const stored = async (write: (store: NonNullable<typeof ctx.store>) => Promise<void>): Promise<WriteResult> => {
      const store = ctx.store;
      if (!store) return { ok: false, retryable: false, error: 'the embedded store is disabled ([store] enabled = false)' };
      try {
        await write(store);
        return { ok: true };
      } catch (e) {
        return { ok: false, retryable: true, error: (e as Error).message };
      }
    };
    return {
      ackAfterWrite: true,
      write: (points) => stored((store) => store.write(points)),
      writeBatches: (batches) => stored((store) => store.writeBatches(batches)),
      describe: () => [ctx.store ? `${ctx.dataDir}/store` : 'disabled'],
    };
  },
});
