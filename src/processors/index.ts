/** Every built-in processor; adding one = one file + one line here. */
import type { ProcessorSpec } from '../core/plugin.js';
import rate from './rate.js';
import delta from './delta.js';
import dedup from './dedup.js';
import tags from './tags.js';
import rename from './rename.js';
import filter from './filter.js';

export const processors: ProcessorSpec[] = [rate, delta, dedup, tags, rename, filter];
