/**
 * Messages between `openStore` (agent thread) and the store worker. Writes travel columnar: series are
 * announced once as (handle, name, tags) and samples as three transferred typed arrays, so a batch costs
 * no structured cloning of point objects.
 */
import type { MetricKind, Tags } from '../model/point.js';

export interface WriteArgs {
  /**
   * Series new to the worker: handle numbers chosen by the agent side, and the kind of their points
   * (announced again when it changes).
   */
  defs: { h: number; name: string; tags: Tags; kind: MetricKind }[];
  h: Int32Array;
  ts: Float64Array;
  v: Float64Array;
}

export type Op = 'write' | 'query' | 'readRaw' | 'series' | 'names' | 'tagKeys' | 'tagValues' | 'stats' | 'flush' | 'close' | 'retain';

export interface Request {
  id: number;
  op: Op;
  args: unknown[];
}

export type Reply =
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string; code?: string }
  | { type: 'ready' }
  | { type: 'fatal'; error: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> };
