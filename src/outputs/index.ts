import type { OutputSpec } from '../core/plugin.js';
import store from './store.js';
import stdout from './stdout.js';

/** Every built-in output: one line per plugin. */
export const outputs: OutputSpec[] = [store, stdout];
