/**
 * Messages between the statsd input and its worker thread.
 */
import type { StatsdFlush, StatsdListening } from './server.js';

export type ToWorker =
  | { readonly t: 'flush'; readonly id: number; readonly ts: number; readonly intervalMs: number }
  /** Close the listeners, then answer with the final flush and exit. */
  | { readonly t: 'close'; readonly id: number; readonly ts: number; readonly intervalMs: number };

export type FromWorker =
  | { readonly t: 'ready'; readonly listening: StatsdListening }
  | { readonly t: 'error'; readonly message: string; readonly code: string; readonly hint: string }
  | { readonly t: 'flushed'; readonly id: number; readonly flush: StatsdFlush };
