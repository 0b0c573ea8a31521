/** The `rate` processor: per-second rate of counters (resets, wrap-around and disorder handled). */
import { defineProcessor } from '../core/plugin.js';
import { counterSchema, createCounterProcessor } from './counter-processor.js';

export default defineProcessor({
  name: 'rate',
  description: 'Turns counters into per-second rates (kind rate); resets, wrap-around and out-of-order points handled',
  schema: counterSchema,
  create(config, ctx) {
    return createCounterProcessor(config, ctx, 'rate', (diff, dtMs) => diff / (dtMs / 1000));
  },
});
