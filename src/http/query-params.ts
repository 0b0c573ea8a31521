import { parseDuration } from '../model/quantities.js';
import { parseTime } from '../query/time.js';
import {
  AGGREGATES,
  DEFAULT_MAX_POINTS,
  GROUP_AGGREGATES,
  MAX_POINTS_LIMIT,
  type Aggregate,
  type GroupAggregate,
  type QueryRequest,
} from '../store/handle.js';

/**
 * Query parameters as people type them (CLI flags, URL parameters), turned into a QueryRequest of the
 * native engine. Times are read by the query layer's one time parser (native dialect).
 */
export { parseTime };

export interface QueryParamsInput {
  name?: string | undefined;
  tags?: string[] | undefined; // "k=v"
  since?: string | undefined;
  start?: string | undefined;
  end?: string | undefined;
  step?: string | undefined;
  agg?: string | undefined;
  groupBy?: string | undefined; // comma separated; "" = all into one
  groupAgg?: string | undefined;
  limit?: string | undefined;
  /** Cap on the points of a raw result (`max_points`), at most MAX_POINTS_LIMIT; default DEFAULT_MAX_POINTS. */
  maxPoints?: string | undefined;
}

export class QueryParamError extends Error {
  readonly status = 400;
}

export function buildQuery(p: QueryParamsInput, now = Date.now()): QueryRequest {
  if (!p.name) throw new QueryParamError('missing metric name (a glob such as cpu.*)');
  const end = p.end !== undefined ? parseTime(p.end, now) : now;
  if (end === undefined) throw new QueryParamError(`bad end time ${JSON.stringify(p.end)}`);
  let start: number | undefined;
  if (p.start !== undefined) start = parseTime(p.start, now);
  else {
    const since = parseDuration(p.since ?? '1h');
    start = since === undefined ? undefined : end - since;
  }
  if (start === undefined) throw new QueryParamError(`bad start time ${JSON.stringify(p.start ?? p.since)} (write e.g. 1h, -30m, an ISO date or epoch ms)`);
  if (start >= end) throw new QueryParamError('start must be before end');
  const tags: Record<string, string> = {};
  for (const t of p.tags ?? []) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new QueryParamError(`bad tag filter ${JSON.stringify(t)} (write key=value)`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  const q: QueryRequest = { name: p.name, start, end };
  if (Object.keys(tags).length) q.tags = tags;
  if (p.step !== undefined && p.step !== '') {
    const step = parseDuration(p.step);
    if (step === undefined || step <= 0) throw new QueryParamError(`bad step ${JSON.stringify(p.step)} (write e.g. 1m)`);
    q.step = step;
  }
  if (p.agg !== undefined && p.agg !== '') {
    if (!(AGGREGATES as readonly string[]).includes(p.agg)) throw new QueryParamError(`bad agg ${JSON.stringify(p.agg)}; one of ${AGGREGATES.join(', ')}`);
    q.agg = p.agg as Aggregate;
  }
  if (p.groupBy !== undefined) q.groupBy = p.groupBy.split(',').map((s) => s.trim()).filter(Boolean);
  if (p.groupAgg !== undefined && p.groupAgg !== '') {
    if (!(GROUP_AGGREGATES as readonly string[]).includes(p.groupAgg)) {
      throw new QueryParamError(`bad group_agg ${JSON.stringify(p.groupAgg)}; one of ${GROUP_AGGREGATES.join(', ')}`);
    }
    q.groupAgg = p.groupAgg as GroupAggregate;
  }
  if (p.limit !== undefined && p.limit !== '') {
    const n = Number(p.limit);
    if (!Number.isInteger(n) || n <= 0) throw new QueryParamError(`bad limit ${JSON.stringify(p.limit)}`);
    q.limit = n;
  }
  if (p.maxPoints !== undefined && p.maxPoints !== '') {
    const n = Number(p.maxPoints);
    if (!Number.isInteger(n) || n <= 0 || n > MAX_POINTS_LIMIT) {
      throw new QueryParamError(`bad max_points ${JSON.stringify(p.maxPoints)} (a whole number from 1 to ${MAX_POINTS_LIMIT})`);
    }
    q.maxPoints = n;
  } else {
    // a long raw range of many series would otherwise fill the agent's and the client's memory
    q.maxPoints = DEFAULT_MAX_POINTS;
  }
  return q;
}

/** Reads QueryParamsInput from URL search params. */
export function paramsFromUrl(u: URL): QueryParamsInput {
  const g = (k: string): string | undefined => u.searchParams.get(k) ?? undefined;
  return {
    name: g('name') ?? g('metric'),
    tags: u.searchParams.getAll('tag'),
    since: g('since'),
    start: g('start'),
    end: g('end'),
    step: g('step'),
    agg: g('agg'),
    groupBy: g('group_by'),
    groupAgg: g('group_agg'),
    limit: g('limit'),
    maxPoints: g('max_points'),
  };
}
