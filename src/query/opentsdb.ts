/**
 * The OpenTSDB 2.x front end of the query layer: `/api/query` requests (POST JSON and the GET `m=`
 * syntax) validated and planned onto `QueryRequest`s of the native engine; filters the store cannot
 * evaluate (regexp, case-insensitive) are resolved to exact value lists first. Raw sub-queries
 * aggregated across series are combined here at the union of timestamps with linear interpolation,
 * as OpenTSDB does.
 *
 * Like OpenTSDB with `tsd.query.limits.data_points.default`, a sub-query that would return more raw
 * points than the cap (DEFAULT_MAX_POINTS) fails as a whole with 413 instead of answering a cut series:
 * Grafana shows the message, where a silently shortened line would look like missing data. Downsampled
 * sub-queries are not capped.
 *
 * Over 500 lines on purpose: OpenTSDB's request grammar (`m=` syntax, filter types, downsample specs,
 * times), its planning onto the native engine and its answer shapes are one front end.
 */
import { DEFAULT_MAX_POINTS, type Aggregate, type GroupAggregate, type QueryRequest, type SeriesInfo, type SeriesResult, type StoreHandle } from '../model/store-api.js';
import { globToRegExp } from '../core/glob.js';
import { combine } from './aggregate.js';
import { resolveTagSpecs, type TagTest } from './select.js';
import { parseTsdbTime, TIME_UNITS } from './time.js';

export { parseTsdbTime };

/** Outcome of parsing: the value or a message for a 400 answer. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** Downsample aggregators: OpenTSDB names onto store bucket aggregates. */
const DOWNSAMPLERS: Record<string, Aggregate> = {
  avg: 'avg',
  sum: 'sum',
  zimsum: 'sum',
  min: 'min',
  mimmin: 'min',
  max: 'max',
  mimmax: 'max',
  count: 'count',
  first: 'first',
  last: 'last',
};

/** Series aggregators; `none` means no grouping at all. */
const AGGREGATORS: Record<string, GroupAggregate | 'none'> = {
  sum: 'sum',
  zimsum: 'sum',
  avg: 'avg',
  min: 'min',
  mimmin: 'min',
  max: 'max',
  mimmax: 'max',
  count: 'count',
  none: 'none',
};
export const SUPPORTED_AGGREGATORS = Object.keys(AGGREGATORS).sort();

export type FillPolicy = 'none' | 'nan' | 'null' | 'zero';
export interface Downsample {
  /** Bucket width in ms, or 'all' for one bucket over the whole range. */
  interval: number | 'all';
  agg: Aggregate;
  fill: FillPolicy;
}

/** `1m-avg`, `1h-max-zero`, `0all-sum`, `1dc-avg` (calendar buckets are treated as fixed widths). */
export function parseDownsample(s: string): Parsed<Downsample> {
  const m = /^(?:(0all)|(\d+)(ms|s|m|h|d|w|n|y)c?)-([a-z]+)(?:-(none|nan|null|zero))?$/.exec(s.trim());
  if (!m) return fail(`bad downsample ${JSON.stringify(s)} (write e.g. 1m-avg or 1h-max-zero)`);
  const agg = DOWNSAMPLERS[m[4] as string];
  if (!agg) return fail(`downsample aggregator ${JSON.stringify(m[4])} is not supported; use one of ${Object.keys(DOWNSAMPLERS).join(', ')}`);
  const interval = m[1] ? 'all' : Number(m[2]) * (TIME_UNITS[m[3] as string] as number);
  if (interval !== 'all' && interval <= 0) return fail('downsample interval must be positive');
  return ok({ interval, agg, fill: (m[5] as FillPolicy | undefined) ?? 'none' });
}

export interface TsdbFilter {
  type: string;
  tagk: string;
  filter: string;
  groupBy: boolean;
}

export interface TsdbSubQuery {
  metric: string;
  aggregator: string;
  downsample?: string;
  rate?: boolean;
  rateOptions?: { counter?: boolean; counterMax?: number; resetValue?: number; dropResets?: boolean };
  tags?: Record<string, string>;
  filters?: TsdbFilter[];
  explicitTags?: boolean;
}

export const FILTER_TYPES: Record<string, { examples: string; description: string }> = {
  literal_or: {
    examples: 'host=literal_or(web01),  host=literal_or(web01|web02|web03)',
    description: 'Exact match on one of the given values, case sensitive.',
  },
  iliteral_or: {
    examples: 'host=iliteral_or(web01),  host=iliteral_or(web01|WEB02)',
    description: 'Exact match on one of the given values, case insensitive.',
  },
  not_literal_or: {
    examples: 'host=not_literal_or(web01|web02)',
    description: 'The tag is present and its value is none of the given values, case sensitive.',
  },
  not_iliteral_or: {
    examples: 'host=not_iliteral_or(web01|WEB02)',
    description: 'The tag is present and its value is none of the given values, case insensitive.',
  },
  wildcard: {
    examples: 'host=wildcard(web*),  host=wildcard(*.example.com),  host=*',
    description: 'Glob match with * wildcards, case sensitive.',
  },
  iwildcard: {
    examples: 'host=iwildcard(Web*)',
    description: 'Glob match with * wildcards, case insensitive.',
  },
  regexp: {
    examples: 'host=regexp(web[0-9]+)',
    description: 'JavaScript regular expression match on the tag value.',
  },
};

/** A v1 `tags` value or an `m=` filter: `*`, `a|b`, `web*`, or `type(expr)`. */
export function filterFromTagValue(tagk: string, value: string, groupBy: boolean): TsdbFilter {
  const fn = /^([a-z_]+)\((.*)\)$/s.exec(value);
  if (fn && FILTER_TYPES[fn[1] as string]) return { type: fn[1] as string, tagk, filter: fn[2] as string, groupBy };
  if (value.includes('*')) return { type: 'wildcard', tagk, filter: value, groupBy };
  return { type: 'literal_or', tagk, filter: value, groupBy };
}

/** The value predicate of a filter, or an error (unknown type, bad regexp). */
export function filterPredicate(f: TsdbFilter): Parsed<(v: string) => boolean> {
  const alts = f.filter.split('|');
  switch (f.type) {
    case 'literal_or':
      return ok((v) => alts.includes(v));
    case 'iliteral_or': {
      const low = alts.map((a) => a.toLowerCase());
      return ok((v) => low.includes(v.toLowerCase()));
    }
    case 'not_literal_or':
      return ok((v) => !alts.includes(v));
    case 'not_iliteral_or': {
      const low = alts.map((a) => a.toLowerCase());
      return ok((v) => !low.includes(v.toLowerCase()));
    }
    case 'wildcard':
    case 'iwildcard': {
      const res = alts.map((a) => globToRegExp(a, { alternatives: false, question: false, ignoreCase: f.type === 'iwildcard' }));
      return ok((v) => res.some((r) => r.test(v)));
    }
    case 'regexp': {
      if (f.filter.length > 512) return fail('regexp filter longer than 512 characters');
      try {
        const re = new RegExp(f.filter);
        return ok((v) => re.test(v));
      } catch (e) {
        return fail(`bad regexp filter ${JSON.stringify(f.filter)}: ${(e as Error).message}`);
      }
    }
    default:
      return fail(`unknown filter type ${JSON.stringify(f.type)}; one of ${Object.keys(FILTER_TYPES).join(', ')}`);
  }
}

const PLAIN_VALUE = /^[^*?|!]+$/;

/** Parses one `m=` parameter: `sum:rate{counter}:1m-avg:cpu.usage{host=*}{mode=user}`. */
export function parseMParam(m: string): Parsed<TsdbSubQuery> {
  // rate{counter,max,reset} holds braces before the metric: take the options out, then parse the rest
  const rate = /(^|:)rate\{([^}]*)\}(?=:)/.exec(m);
  if (rate) {
    const r = parseMParam(m.slice(0, rate.index) + rate[1] + 'rate' + m.slice(rate.index + rate[0].length));
    return r.ok ? withRate(r, rate[2] as string) : r;
  }
  const brace = m.indexOf('{');
  const head = brace < 0 ? m : m.slice(0, brace);
  const tail = brace < 0 ? '' : m.slice(brace);
  let parts = head.split(':');
  parts = parts.filter((p) => p !== '');
  if (parts.length < 2) return fail(`bad m parameter ${JSON.stringify(m)} (write aggregator:[rate:][downsample:]metric{tags})`);
  const aggregator = parts[0] as string;
  const metric = parts[parts.length - 1] as string;
  const q: TsdbSubQuery = { aggregator, metric, filters: [] };
  for (const p of parts.slice(1, -1)) {
    if (p === 'rate') q.rate = true;
    else if (p === 'explicit_tags') q.explicitTags = true;
    else if (/^\d+[a-z]+c?-|^0all-/.test(p)) q.downsample = p;
    else return fail(`unknown part ${JSON.stringify(p)} in m parameter`);
  }
  const groups = /^(\{[^}]*\})?(\{[^}]*\})?$/.exec(tail);
  if (!groups) return fail(`bad tag braces in m parameter ${JSON.stringify(m)}`);
  const addFilters = (g: string | undefined, groupBy: boolean): string | undefined => {
    if (!g || g === '{}') return undefined;
    for (const pair of splitTopLevel(g.slice(1, -1))) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return `bad tag filter ${JSON.stringify(pair)}`;
      (q.filters as TsdbFilter[]).push(filterFromTagValue(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim(), groupBy));
    }
    return undefined;
  };
  const e = addFilters(groups[1], true) ?? addFilters(groups[2], false);
  return e ? fail(e) : ok(q);
}

function withRate(r: Parsed<TsdbSubQuery>, opts: string): Parsed<TsdbSubQuery> {
  if (!r.ok) return r;
  const [counter, max, reset] = opts.split(',');
  const ro: NonNullable<TsdbSubQuery['rateOptions']> = { counter: counter === 'counter' || counter === 'dropcounter' };
  if (counter === 'dropcounter') ro.dropResets = true;
  if (max) ro.counterMax = Number(max);
  if (reset) ro.resetValue = Number(reset);
  return ok({ ...r.value, rate: true, rateOptions: ro });
}

/** Splits `a=b,c=literal_or(x|y)` on commas outside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

export interface TsdbRequest {
  start: number;
  end: number;
  queries: TsdbSubQuery[];
  msResolution: boolean;
  arrays: boolean;
  showQuery: boolean;
}

/** Validates a POST body (or the GET parameters turned into one). */
export function parseTsdbRequest(body: unknown, now: number): Parsed<TsdbRequest> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fail('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const start = parseTsdbTime(b['start'], now);
  if (start === undefined) return fail(`missing or bad start ${JSON.stringify(b['start'] ?? null)} (write e.g. 1h-ago, epoch seconds or 2024/01/02-03:04:05)`);
  const end = b['end'] === undefined || b['end'] === null || b['end'] === '' ? now : parseTsdbTime(b['end'], now);
  if (end === undefined) return fail(`bad end ${JSON.stringify(b['end'])}`);
  if (end <= start) return fail('start must be before end');
  if (!Array.isArray(b['queries']) || b['queries'].length === 0) return fail('missing queries');
  if (b['queries'].length > 100) return fail('at most 100 queries per request');
  const queries: TsdbSubQuery[] = [];
  for (const [i, raw] of (b['queries'] as unknown[]).entries()) {
    if (!raw || typeof raw !== 'object') return fail(`queries[${i}]: must be an object`);
    const r = raw as Record<string, unknown>;
    if (r['tsuids'] !== undefined && r['metric'] === undefined) return fail(`queries[${i}]: tsuids are not supported by sonde; query by metric and tags`);
    if (typeof r['metric'] !== 'string' || r['metric'] === '') return fail(`queries[${i}]: missing metric`);
    if (typeof r['aggregator'] !== 'string') return fail(`queries[${i}]: missing aggregator`);
    const q: TsdbSubQuery = { metric: r['metric'], aggregator: r['aggregator'] };
    if (typeof r['downsample'] === 'string' && r['downsample'] !== '') q.downsample = r['downsample'];
    if (r['rate'] === true || r['rate'] === 'true') q.rate = true;
    if (r['rateOptions'] && typeof r['rateOptions'] === 'object') q.rateOptions = r['rateOptions'] as NonNullable<TsdbSubQuery['rateOptions']>;
    if (r['explicitTags'] === true) q.explicitTags = true;
    if (r['tags'] !== undefined && r['tags'] !== null) {
      if (typeof r['tags'] !== 'object' || Array.isArray(r['tags'])) return fail(`queries[${i}]: tags must be an object`);
      q.tags = {};
      for (const [k, v] of Object.entries(r['tags'] as Record<string, unknown>)) q.tags[k] = String(v);
    }
    if (r['filters'] !== undefined && r['filters'] !== null) {
      if (!Array.isArray(r['filters'])) return fail(`queries[${i}]: filters must be an array`);
      q.filters = [];
      for (const f of r['filters'] as unknown[]) {
        const o = (f ?? {}) as Record<string, unknown>;
        if (typeof o['tagk'] !== 'string' || typeof o['filter'] !== 'string' || typeof o['type'] !== 'string') {
          return fail(`queries[${i}]: each filter needs type, tagk and filter`);
        }
        q.filters.push({ type: o['type'], tagk: o['tagk'], filter: o['filter'], groupBy: o['groupBy'] === true || o['groupBy'] === 'true' });
      }
    }
    queries.push(q);
  }
  return ok({
    start,
    end,
    queries,
    msResolution: b['msResolution'] === true || b['ms'] === true || b['msResolution'] === 'true' || b['ms'] === 'true',
    arrays: b['arrays'] === true || b['arrays'] === 'true',
    showQuery: b['showQuery'] === true || b['showQuery'] === 'true',
  });
}

export interface TsdbResult {
  metric: string;
  tags: Record<string, string>;
  aggregateTags: string[];
  dps: Record<string, number | null> | Array<[number, number | null]>;
  query?: TsdbSubQuery & { index: number };
}

/** Store request for a sub query, after filters were resolved against the store's tag values. */
export interface Plan {
  req: QueryRequest;
  /** Keys results are grouped by; undefined = aggregator none (one result per series). */
  groupBy: string[] | undefined;
  /**
   * Without a downsampler series have their own timestamps: the store answers raw series and they are
   * combined here at the union of timestamps with linear interpolation, as OpenTSDB does.
   */
  interpolate?: { agg: GroupAggregate; lerp: boolean };
  fill: FillPolicy;
  /** For 0all downsampling: report the single bucket at the query start. */
  all: boolean;
}

export async function planSubQuery(store: StoreHandle, q: TsdbSubQuery, start: number, end: number): Promise<Parsed<Plan | null>> {
  const gagg = AGGREGATORS[q.aggregator];
  if (gagg === undefined) return fail(`aggregator ${JSON.stringify(q.aggregator)} is not supported; use one of ${SUPPORTED_AGGREGATORS.join(', ')}`);
  const filters: TsdbFilter[] = [...(q.filters ?? [])];
  for (const [k, v] of Object.entries(q.tags ?? {})) filters.push(filterFromTagValue(k, v, true));

  // one store filter per key: push simple ones down, resolve the rest to exact value lists
  const byKey = new Map<string, TsdbFilter[]>();
  for (const f of filters) {
    if (f.tagk === '') return fail('filter with an empty tagk');
    byKey.set(f.tagk, [...(byKey.get(f.tagk) ?? []), f]);
  }
  const tags: Record<string, string> = {};
  const toResolve: TagTest[] = [];
  for (const [k, fs] of byKey) {
    const only = fs.length === 1 ? (fs[0] as TsdbFilter) : undefined;
    if (only && only.type === 'wildcard' && only.filter === '*') {
      tags[k] = '*';
      continue;
    }
    if (only && only.type === 'literal_or' && only.filter.split('|').every((a) => PLAIN_VALUE.test(a))) {
      tags[k] = only.filter;
      continue;
    }
    const tests: TagTest[] = [];
    for (const f of fs) {
      const p = filterPredicate(f);
      if (!p.ok) return p;
      const pred = p.value;
      // OpenTSDB filters need the tag present
      tests.push({ key: k, test: (v) => v !== undefined && pred(v) });
    }
    toResolve.push(...tests);
  }
  if (toResolve.length > 0) {
    const resolved = await resolveTagSpecs(store, q.metric, toResolve);
    if (resolved === null) return ok(null);
    Object.assign(tags, resolved);
  }
  if (q.explicitTags) {
    for (const k of await store.tagKeys(q.metric)) if (!(k in tags)) tags[k] = '!*';
  }

  let ds: Downsample | undefined;
  if (q.downsample) {
    const d = parseDownsample(q.downsample);
    if (!d.ok) return d;
    ds = d.value;
  }
  const req: QueryRequest = { name: q.metric, start, end };
  if (Object.keys(tags).length) req.tags = tags;
  let step = 0;
  let all = false;
  if (ds?.interval === 'all') {
    // a power-of-two multiple of the span whose bucket grid puts [start, end) in a single bucket
    step = Math.max(1, end - start);
    for (let i = 0; i < 64 && Math.floor(start / step) !== Math.floor((end - 1) / step); i++) step *= 2;
    all = true;
  } else if (ds) step = ds.interval;
  if (step > 0) {
    if ((end - start) / step > 100_000) return fail('downsample interval too small for the time range (more than 100000 buckets)');
    req.step = step;
    req.agg = q.rate ? 'rate' : (ds?.agg ?? 'avg');
  } else if (q.rate) req.agg = 'rate';
  const groupBy = gagg === 'none' ? undefined : filters.filter((f) => f.groupBy).map((f) => f.tagk).filter((k, i, a) => a.indexOf(k) === i);
  if (q.rate && q.rateOptions?.dropResets === true) req.dropResets = true;
  req.limit = 10_000;
  if (groupBy && step === 0) {
    // zimsum, mimmin and mimmax take missing values as absent instead of interpolating them
    return ok({ req, groupBy, fill: 'none', all, interpolate: { agg: gagg as GroupAggregate, lerp: !q.aggregator.startsWith('zim') && !q.aggregator.startsWith('mim') } });
  }
  if (groupBy) {
    req.groupBy = groupBy;
    req.groupAgg = gagg as GroupAggregate;
  }
  return ok({ req, groupBy, fill: ds?.fill ?? 'none', all });
}

/** Value of a series at `t`: exact, or linearly interpolated inside its span when `lerp`. */
function valueAt(ts: readonly number[], vs: readonly (number | null)[], t: number, lerp: boolean, hint: { i: number }): number | undefined {
  while (hint.i < ts.length && (ts[hint.i] as number) < t) hint.i++;
  const i = hint.i;
  if (i < ts.length && ts[i] === t) {
    const v = vs[i];
    return v === null || v === undefined || Number.isNaN(v) ? undefined : v;
  }
  if (!lerp || i === 0 || i >= ts.length) return undefined;
  const t0 = ts[i - 1] as number;
  const t1 = ts[i] as number;
  const v0 = vs[i - 1];
  const v1 = vs[i];
  if (v0 === null || v0 === undefined || v1 === null || v1 === undefined) return undefined;
  return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
}

/** Groups raw series by `groupBy` tag values and aggregates each group at the union of its timestamps. */
export function aggregateRaw(series: readonly SeriesResult[], groupBy: readonly string[], agg: GroupAggregate, lerp: boolean): Array<SeriesResult & { members: SeriesResult[] }> {
  const groups = new Map<string, SeriesResult[]>();
  for (const s of series) {
    const key = s.name + '\0' + groupBy.map((k) => s.tags[k] ?? '').join('\0');
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: Array<SeriesResult & { members: SeriesResult[] }> = [];
  for (const [, members] of [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const times = [...new Set(members.flatMap((m) => m.timestamps))].sort((a, b) => a - b);
    const hints = members.map(() => ({ i: 0 }));
    const timestamps: number[] = [];
    const values: (number | null)[] = [];
    for (const t of times) {
      const xs: number[] = [];
      members.forEach((m, j) => {
        const v = valueAt(m.timestamps, m.values, t, lerp, hints[j] as { i: number });
        if (v !== undefined) xs.push(v);
      });
      if (xs.length === 0) continue;
      timestamps.push(t);
      values.push(combine(agg, xs));
    }
    const first = members[0] as SeriesResult;
    const tags: Record<string, string> = {};
    for (const k of groupBy) if (first.tags[k] !== undefined) tags[k] = first.tags[k];
    out.push({ name: first.name, tags, timestamps, values, members });
  }
  return out;
}

/** Tags shared by all members (same value everywhere) and the keys that differ. */
function commonTags(members: ReadonlyArray<{ tags: Readonly<Record<string, string>> }>): { tags: Record<string, string>; aggregateTags: string[] } {
  const first = members[0];
  if (!first) return { tags: {}, aggregateTags: [] };
  const tags: Record<string, string> = { ...first.tags };
  const keys = new Set<string>(Object.keys(first.tags));
  for (const m of members) {
    for (const k of Object.keys(m.tags)) keys.add(k);
    for (const k of Object.keys(tags)) if (m.tags[k] !== tags[k]) delete tags[k];
  }
  return { tags, aggregateTags: [...keys].filter((k) => !(k in tags)).sort() };
}

/** Answers a query; `maxPoints` caps each raw (not downsampled) sub-query, over it the answer is a 413. */
export async function runTsdbQuery(store: StoreHandle, body: unknown, now = Date.now(), maxPoints = DEFAULT_MAX_POINTS): Promise<{ status: number; body: unknown }> {
  const parsed = parseTsdbRequest(body, now);
  if (!parsed.ok) return tsdbError(400, parsed.error);
  const r = parsed.value;
  const out: TsdbResult[] = [];
  for (const [index, q] of r.queries.entries()) {
    const plan = await planSubQuery(store, q, r.start, r.end);
    if (!plan.ok) return tsdbError(400, `queries[${index}]: ${plan.error}`);
    if (plan.value === null) continue;
    const { req, groupBy, fill, all, interpolate } = plan.value;
    if (req.step === undefined) req.maxPoints = maxPoints;
    let result;
    try {
      result = await store.query(req);
    } catch (e) {
      return tsdbError(400, `queries[${index}]: ${(e as Error).message}`);
    }
    if (result.pointsTruncated) {
      return tsdbError(
        413,
        `queries[${index}]: more than the limit of ${maxPoints} data points; filter with more tags, shorten the time range or add a downsampler`,
      );
    }
    let members: SeriesInfo[] = [];
    let answer: Array<SeriesResult & { members?: SeriesResult[] }> = result.series;
    if (groupBy && interpolate) answer = aggregateRaw(result.series, groupBy, interpolate.agg, interpolate.lerp);
    else if (groupBy) members = await store.series({ name: req.name, ...(req.tags ? { tags: req.tags } : {}), limit: 100_000 });
    for (const s of answer) {
      let tags: Record<string, string> = { ...s.tags };
      let aggregateTags: string[] = [];
      if (groupBy) {
        const mine = s.members ?? members.filter((m) => m.name === s.name && groupBy.every((k) => m.tags[k] === s.tags[k]));
        ({ tags, aggregateTags } = commonTags(mine));
      }
      const pairs: Array<[number, number | null]> = [];
      for (let i = 0; i < s.timestamps.length; i++) {
        let v = s.values[i] ?? null;
        if (v === null || Number.isNaN(v)) {
          if (fill === 'none') continue;
          v = fill === 'zero' ? 0 : null;
        }
        let t = s.timestamps[i] as number;
        if (all) t = r.start;
        // buckets that begin before the window are reported at its start, as OpenTSDB does
        if (t < r.start) t = r.start;
        pairs.push([r.msResolution ? t : Math.floor(t / 1000), v]);
      }
      let dps: TsdbResult['dps'];
      if (r.arrays) dps = pairs;
      else {
        const obj: Record<string, number | null> = {};
        for (const [t, v] of pairs) obj[String(t)] = v;
        dps = obj;
      }
      const res: TsdbResult = { metric: s.name, tags, aggregateTags, dps };
      if (r.showQuery) res.query = { ...q, index };
      out.push(res);
    }
  }
  return { status: 200, body: out };
}

/** Request parameters of `GET /api/query` as a POST body. */
export function bodyFromQueryString(url: URL): Parsed<Record<string, unknown>> {
  const queries: TsdbSubQuery[] = [];
  for (const m of url.searchParams.getAll('m')) {
    const q = parseMParam(m);
    if (!q.ok) return q;
    queries.push(q.value);
  }
  const body: Record<string, unknown> = { queries };
  for (const k of ['start', 'end', 'ms', 'msResolution', 'arrays', 'showQuery']) {
    const v = url.searchParams.get(k);
    if (v !== null) body[k] = k === 'ms' && v === '' ? true : v;
  }
  return ok(body);
}

export async function suggest(store: StoreHandle, type: string, q: string, max: number): Promise<Parsed<string[]>> {
  const n = Number.isInteger(max) && max > 0 ? Math.min(max, 10_000) : 25;
  const prefix = (xs: string[]): string[] => xs.filter((x) => x.startsWith(q)).sort().slice(0, n);
  if (type === 'metrics') return ok(prefix(await store.names(q.replace(/[*?]/g, '') === q ? `${q}*` : '*', 100_000)));
  if (type === 'tagk') return ok(prefix(await store.tagKeys()));
  if (type === 'tagv') {
    const values = new Set<string>();
    for (const k of await store.tagKeys()) for (const v of await store.tagValues(k, undefined, 100_000)) if (v.startsWith(q)) values.add(v);
    return ok([...values].sort().slice(0, n));
  }
  return fail(`bad suggest type ${JSON.stringify(type)}; one of metrics, tagk, tagv`);
}


export interface LookupRequest {
  /** Metric name, or `*` / empty for every metric. */
  metric: string;
  /** Tag pairs; a value (or key) of `*` matches any. */
  tags: Array<{ key: string; value: string }>;
  limit: number;
}

/** `/api/search/lookup` input: a JSON body or the `m=metric{k=v,...}` and `limit` parameters. */
export function parseLookup(body: unknown, url: URL): Parsed<LookupRequest> {
  let metric = '';
  let tags: Array<{ key: string; value: string }> = [];
  let limit = Number(url.searchParams.get('limit') ?? 25);
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    metric = typeof b['metric'] === 'string' ? b['metric'] : '';
    if (Array.isArray(b['tags'])) {
      for (const t of b['tags'] as unknown[]) {
        const o = (t ?? {}) as Record<string, unknown>;
        tags.push({ key: String(o['key'] ?? '*'), value: String(o['value'] ?? '*') });
      }
    }
    if (b['limit'] !== undefined) limit = Number(b['limit']);
  } else {
    const m = url.searchParams.get('m') ?? '';
    const brace = m.indexOf('{');
    metric = (brace < 0 ? m : m.slice(0, brace)).trim();
    if (brace >= 0) {
      if (!m.endsWith('}')) return fail(`bad m parameter ${JSON.stringify(m)} (write metric{tagk=tagv,...})`);
      tags = splitTopLevel(m.slice(brace + 1, -1))
        .filter((p) => p.trim() !== '')
        .map((p) => {
          const eq = p.indexOf('=');
          return eq < 0 ? { key: p.trim(), value: '*' } : { key: p.slice(0, eq).trim() || '*', value: p.slice(eq + 1).trim() || '*' };
        });
    }
  }
  if (metric === '' && tags.length === 0) return fail('a lookup needs a metric or at least one tag (m=metric{tagk=tagv})');
  if (!Number.isInteger(limit) || limit <= 0) limit = 25;
  return ok({ metric, tags, limit: Math.min(limit, 100_000) });
}

/** Series matching a lookup, as OpenTSDB's `/api/search/lookup` answers (sonde has no UIDs: no tsuid). */
export async function lookup(store: StoreHandle, r: LookupRequest): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const name = r.metric === '' || r.metric === '*' ? '*' : r.metric;
  const list = await store.series({ name, limit: 10_000_000 });
  const matched = list.filter((s) =>
    r.tags.every(({ key, value }) => {
      if (key === '*') return value === '*' || Object.values(s.tags).includes(value);
      const v = s.tags[key];
      return v !== undefined && (value === '*' || v === value);
    }),
  );
  return {
    type: 'LOOKUP',
    metric: r.metric === '' ? '*' : r.metric,
    tags: r.tags,
    limit: r.limit,
    time: Date.now() - t0,
    totalResults: matched.length,
    results: matched.slice(0, r.limit).map((s) => ({ metric: s.name, tags: s.tags })),
    startIndex: 0,
  };
}

export function tsdbError(code: number, message: string): { status: number; body: unknown } {
  return { status: code, body: { error: { code, message } } };
}

