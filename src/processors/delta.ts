/** The `delta` processor: increase of counters between consecutive samples. */
import { defineProcessor } from '../core/plugin.js';
import { counterSchema, createCounterProcessor } from './counter-processor.js';

export default defineProcessor({
  name: 'delta',
  description: 'Turns counters into the increase since the previous sample (kind delta)',
  schema: counterSchema,
  create(config, ctx) {
    return createCounterProcessor(config, ctx, 'delta', (diff) => diff);
  },
});
