/**
 * The PromQL corpus of the differential test: every selector form, operator, aggregation and function
 * sonde implements, over the generated data of test/helpers/promql-data.ts. Built from lists so each
 * function meets several selectors and ranges; well over 300 expressions.
 */
const C = 'diff_requests_total';
const G = 'diff_temp';
const L = 'diff_level';
const B = 'diff_latency_seconds_bucket';

export function corpus(atSeconds: number): string[] {
  const out: string[] = [];
  const add = (...xs: string[]): void => {
    for (const x of xs) out.push(x);
  };
  // selectors and matchers
  add(
    C,
    `${C}{job="api"}`,
    `${C}{job!="api"}`,
    `${C}{job=~"a.*|db"}`,
    `${C}{job!~"api|web"}`,
    `${C}{code=~"5.."}`,
    `${C}{instance=~"host-[13]:9100",code!="404"}`,
    `${G}{room="r1"}`,
    `${G}{host_name=~"h1.*"}`,
    `${G}{room=~"R1"}`,
    `${G}{room=~"(?i)R1"}`,
    `${G}{nonexistent=""}`,
    `${G}{dc=~"east|"}`,
    `{__name__=~"diff_(temp|level)"}`,
    `{__name__="${L}", unit!="u1"}`,
    `{__name__=~"diff_latency_seconds_(sum|count)"}`,
    `${G} offset 10m`,
    `${G} offset -5m`,
    `${G} @ ${atSeconds}`,
    `${C} @ start()`,
    `${L} @ end()`,
    `${G} offset 3m @ ${atSeconds}`,
    L,
    `${B}{job="svc1"}`,
    `count({__name__=~"diff.+"})`,
    `count by (__name__) ({__name__=~".+"})`,
    `${C} offset 1h`,
    `timestamp(${G} @ ${atSeconds})`,
    `resets(${L}[1h])`,
    `changes(${L}[1h])`,
    `sort(${L})`,
    `sort_desc(${L} / 0)`,
  );
  // range functions over counters and gauges
  const ranges = ['1m', '5m', '13m'];
  for (const r of ranges) {
    for (const f of ['rate', 'increase', 'irate', 'resets']) add(`${f}(${C}[${r}])`, `${f}(${C}{job="api"}[${r}] offset 7m)`);
    for (const f of ['delta', 'idelta', 'deriv', 'changes', 'resets', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'stddev_over_time', 'stdvar_over_time', 'present_over_time']) {
      add(`${f}(${G}[${r}])`);
    }
    for (const f of ['changes', 'avg_over_time', 'max_over_time', 'min_over_time', 'count_over_time', 'stddev_over_time']) add(`${f}(${L}[${r}])`);
    add(`quantile_over_time(0.9, ${G}[${r}])`, `quantile_over_time(0.5, ${L}[${r}])`, `absent_over_time(${G}{room="r1"}[${r}])`, `absent_over_time(nonexistent{a="b"}[${r}])`);
  }
  add(
    `rate(${C}[5m] @ ${atSeconds})`,
    `increase(${C}[1h])`,
    `rate(${C}{code="200"}[30s])`,
    `predict_linear(${G}[30m], 3600)`,
    `predict_linear(${G}[10m], -600)`,
    `deriv(${G}[30m])`,
    `rate(${B}[5m])`,
    `rate(diff_latency_seconds_sum[5m]) / rate(diff_latency_seconds_count[5m])`,
  );
  // subqueries
  add(
    `max_over_time(rate(${C}[5m])[30m:1m])`,
    `avg_over_time(${G}[10m:])`,
    `min_over_time(${G}[17m:2m] offset 5m)`,
    `rate(${C}[5m:30s])`,
    `sum_over_time(sum by (job) (rate(${C}[5m]))[20m:5m])`,
    `max_over_time(deriv(${G}[10m])[30m:3m])`,
    `count_over_time(${G}[1h:7m])`,
    `last_over_time(${L}[9m:2m] @ ${atSeconds})`,
  );
  // aggregations
  const aggs = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
  for (const a of aggs) {
    for (const g of ['', ' by (job)', ' without (instance)', ' by (code, job)']) add(`${a}${g} (rate(${C}[5m]))`);
    for (const g of ['', ' by (room)', ' without (host_name)']) add(`${a}${g} (${G})`);
    add(`${a} by (unit) (${L})`);
  }
  add(
    `topk(3, ${G})`,
    `bottomk(2, ${G})`,
    `topk by (job) (1, rate(${C}[5m]))`,
    `bottomk without (instance, code) (2, rate(${C}[5m]))`,
    `topk(0, ${G})`,
    `quantile(0.5, ${G})`,
    `quantile(0.9, rate(${C}[5m]))`,
    `quantile by (room) (0.25, ${G})`,
    `quantile(1.5, ${G})`,
    `quantile(-1, ${G})`,
    `count_values("value", ${L})`,
    `count_values by (unit) ("v", ${L})`,
    `count_values("le2", ${B}{job="svc0"} > 100)`,
    `sum(${G}) by (dc)`,
    `avg without (room, host_name) (${G})`,
    `max by (__name__) ({__name__=~"diff_(temp|level)"})`,
  );
  // arithmetic and comparisons with scalars
  add(
    `${C} + 1`,
    `2 * ${G}`,
    `${G} / 0`,
    `-${G}`,
    `${G} % 3`,
    `${G} ^ 2`,
    `2 ^ ${L}`,
    `${G} - 10 * 2`,
    `${G} > 10`,
    `${G} > bool 10`,
    `10 < ${G}`,
    `${L} == 3`,
    `${L} != bool 3`,
    `${G} >= -5 <= 5`,
    `1 + 2 * 3`,
    `2 ^ 3 ^ 2`,
    `(1 + 2) * 3`,
    `5 % 3`,
    `1 > bool 2`,
    `-(1)`,
    `0x10 + 1e2`,
    `atan2(${G}, 10)`,
    `${G} atan2 ${G} offset 1m`,
    `Inf * 0`,
  );
  // vector matching
  add(
    `rate(${C}[5m]) / on(job, instance) group_left sum by (job, instance) (rate(${C}[5m]))`,
    `${C} / ignoring(code) group_left sum without (code) (${C})`,
    `sum without (code) (${C}) / ignoring(code) group_right ${C}`,
    `${G} - ${G} offset 5m`,
    `${G} * on(room, host_name, dc) ${G}`,
    `sum by (job) (rate(${C}[5m])) > on(job) group_right sum by (job, code) (rate(${C}[5m]))`,
    `sum by (job, le) (rate(${B}[5m])) / on(job) group_left sum by (job) (rate(diff_latency_seconds_count[5m]))`,
    `${C} > bool ignoring(code) group_left ${C}{code="200"}`,
    `${G} + on(room) group_left(dc) max by (room, dc) (${G})`,
    `${C} == ${C}`,
    `${G} < ${G} offset 10m`,
    `${G} - on() group_left scalar(avg(${G}))`,
  );
  // set operators
  add(
    `${G} and ${G} > 0`,
    `${G} or ${L}`,
    `${G} unless ${G}{room="r1"}`,
    `${C} and on(job) ${C}{code="500"} > 50000`,
    `${G}{dc="east"} or on(room) ${G}{dc="west"}`,
    `${L} unless ignoring(unit) ${L}{unit="u2"}`,
    `(${G} > 0) or (${G} < -20)`,
    `vector(1) and on() ${G}`,
  );
  // instant-vector functions
  for (const f of ['abs', 'ceil', 'floor', 'round', 'exp', 'sqrt', 'ln', 'log2', 'log10']) add(`${f}(${G})`, `${f}(${L})`);
  for (const f of ['sgn', 'deg', 'rad', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh']) add(`${f}(${G} / 50)`);
  add(`pi()`, `holt_winters(${G}[30m], 0.5, 0.5)`, `holt_winters(${L}[10m], 0.1, 0.9)`, `day_of_year(timestamp(${G}))`);
  add(
    `round(${G}, 0.5)`,
    `round(${G}, 10)`,
    `clamp(${G}, -5, 5)`,
    `clamp(${G}, 5, -5)`,
    `clamp_min(${G}, 0)`,
    `clamp_max(${G}, 0)`,
    `timestamp(${G})`,
    `timestamp(${G} offset 3m)`,
    `timestamp(rate(${C}[5m]))`,
    `vector(1)`,
    `vector(time())`,
    `scalar(sum(${G}))`,
    `scalar(${G})`,
    `time()`,
    `time() - timestamp(${L})`,
    `sort(${G})`,
    `sort_desc(rate(${C}[5m]))`,
    `absent(${G})`,
    `absent(nonexistent{a="b", c=~"d"})`,
    `absent(nonexistent{a="b"} > 1)`,
    `day_of_week()`,
    `day_of_month()`,
    `day_of_year()`,
    `hour()`,
    `minute()`,
    `month()`,
    `year()`,
    `days_in_month()`,
    `hour(timestamp(${L}))`,
    `minute(vector(${atSeconds}))`,
    `days_in_month(vector(5097600))`,
    `month(vector(1e9))`,
    `label_replace(${G}, "r2", "$1-x", "room", "r(.*)")`,
    `label_replace(${G}, "room", "", "room", "r1")`,
    `label_replace(${G}, "nope", "$1", "room", "zzz(.*)")`,
    `label_replace(rate(${C}[5m]), "port", "$2", "instance", "(.*):(.*)")`,
    `label_join(${G}, "both", "/", "room", "dc")`,
    `label_join(${L}, "x", ",")`,
    `histogram_quantile(0.5, rate(${B}[5m]))`,
    `histogram_quantile(0.9, rate(${B}[5m]))`,
    `histogram_quantile(0.99, sum by (le) (rate(${B}[5m])))`,
    `histogram_quantile(0, rate(${B}[10m]))`,
    `histogram_quantile(1, rate(${B}[10m]))`,
    `histogram_quantile(2, rate(${B}[10m]))`,
    `histogram_quantile(0.5, ${B})`,
    `histogram_quantile(0.75, sum by (job, le) (increase(${B}[13m])))`,
  );
  return out;
}

/** Expressions both must refuse, with the same error type. */
export const INVALID = ['sum(', `rate(${G})`, `${G}[5m]{`, `1 > 2`, `foo(${G})`, `${G} and 1`, `{}`, `{a=""}`, `topk(${G})`, `${G} + on(room) group_left ${G}`];
