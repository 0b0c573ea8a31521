/**
 * The PromQL front end of the query layer: parse, read the selectors' samples, evaluate, and shape the
 * answer as Prometheus' HTTP API does (`resultType` + `result`, values as `[seconds, "string"]`).
 */
import type { StoreHandle } from '../../model/store-api.js';
import { Evaluator, PromError, type SeriesSource } from './eval.js';
import { PromParseError, parsePromQL, typeOf } from './parse.js';
import { StoreSeriesSource } from './store-source.js';

export { PromError } from './eval.js';
export { StoreSeriesSource } from './store-source.js';

export interface PromQueryLimits {
  /** Most samples one query may read (Prometheus' --query.max-samples, default 50,000,000). */
  readonly maxSamples: number;
  /** Wall-clock limit of one query, ms (Prometheus' --query.timeout, default 2m). */
  readonly timeoutMs: number;
  /** Lookback of instant selectors, ms (default 5m). */
  readonly lookbackMs: number;
  /** Evaluation work (ms) between turns of the event loop (default 10). */
  readonly sliceMs?: number;
}

export const DEFAULT_PROM_LIMITS: PromQueryLimits = { maxSamples: 50_000_000, timeoutMs: 120_000, lookbackMs: 300_000 };

export interface PromAnswer {
  resultType: string;
  result: unknown;
  warnings: string[];
}

export interface PromQuery {
  readonly query: string;
  /** ms; an instant query has start = end and step 0. */
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly instant: boolean;
}

export async function runPromQuery(q: PromQuery, source: SeriesSource | StoreHandle, limits: Partial<PromQueryLimits> = {}): Promise<PromAnswer> {
  const lim = { ...DEFAULT_PROM_LIMITS, ...limits };
  let expr;
  try {
    expr = parsePromQL(q.query);
  } catch (e) {
    if (e instanceof PromParseError) throw new PromError('bad_data', e.message);
    throw e;
  }
  if (!q.instant) {
    const t = typeOf(expr);
    if (t !== 'scalar' && t !== 'vector') throw new PromError('bad_data', `invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`);
  }
  const src: SeriesSource = 'select' in source ? source : new StoreSeriesSource(source, lim.maxSamples);
  const ev = new Evaluator({ start: q.start, end: q.end, step: q.instant ? 0 : q.step, lookback: lim.lookbackMs, maxSamples: lim.maxSamples, deadline: performance.now() + lim.timeoutMs, ...(lim.sliceMs !== undefined ? { sliceMs: lim.sliceMs } : {}) }, src);
  await ev.load(expr);
  const v = await ev.run(expr);
  const answer = ev.result(v, q.instant);
  const warnings = [...ev.warningList, ...(src instanceof StoreSeriesSource ? src.warnings : [])];
  return { ...answer, warnings };
}
