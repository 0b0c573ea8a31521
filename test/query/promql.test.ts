/**
 * Unit tests of the PromQL front end's pieces: the time parser's Prometheus dialect, strings and numbers
 * in the grammar, value formatting, the name catalog's collisions; and fuzzing: any text (and any
 * mutation of the corpus) either parses or is a PromParseError, and evaluating whatever parses over a
 * small store never throws anything but a PromError.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parsePromDuration, parsePromDurationParam, parsePromTime, parseTime, parseTsdbTime } from '../../src/query/time.js';
import { parsePromQL, PromParseError, unquote } from '../../src/query/promql/parse.js';
import { formatFloatF, bucketQuantile, extrapolatedRate } from '../../src/query/promql/functions.js';
import { buildCatalog, seriesLabels } from '../../src/query/promql/names.js';
import { PromError, isStaleNaN } from '../../src/query/promql/eval.js';
import { runPromQuery } from '../../src/query/promql/index.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { corpus } from './promql-corpus.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const T0 = 1_767_225_600_000;
let dir = '';
let db: Tsdb;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-promql-'));
  db = Tsdb.open(dir);
  const pts = [];
  for (let i = 0; i < 40; i++) {
    pts.push({ name: 'diff.temp', tags: { room: `r${i % 3}`, 'host.name': `h${i % 4}` }, value: Math.sin(i), ts: T0 + i * 15_000, kind: 'gauge' as const });
    pts.push({ name: 'diff.requests_total', tags: { job: 'api', code: String(200 + (i % 2)) }, value: i * 3, ts: T0 + i * 15_000, kind: 'counter' as const });
  }
  db.writeSync(pts);
});

after(() => {
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

test('Prometheus times and durations', () => {
  assert.equal(parsePromTime('1767225600'), T0);
  assert.equal(parsePromTime('1767225600.123'), T0 + 123);
  assert.equal(parsePromTime('2026-01-01T00:00:00Z'), T0);
  assert.equal(parsePromTime('2026-01-01T01:00:00+01:00'), T0);
  assert.equal(parsePromTime('2026-01-01T00:00:00.5Z'), T0 + 500);
  assert.equal(parsePromTime('yesterday'), undefined);
  assert.equal(parsePromTime('2026-01-01'), undefined);
  assert.equal(parsePromDuration('1h30m'), 5_400_000);
  assert.equal(parsePromDuration('1m0s'), 60_000);
  assert.equal(parsePromDuration('250ms'), 250);
  assert.equal(parsePromDuration('1y'), 365 * 86_400_000);
  assert.equal(parsePromDuration('5'), undefined);
  assert.equal(parsePromDurationParam('15'), 15_000);
  assert.equal(parsePromDurationParam('0.5'), 500);
  assert.equal(parsePromDurationParam('2m'), 120_000);
  // the other dialects of the same module keep their behaviour
  assert.equal(parseTime('-1h', T0), T0 - 3_600_000);
  assert.equal(parseTsdbTime('2n-ago', T0), T0 - 60 * 86_400_000);
});

test('string and number literals as Go reads them', () => {
  assert.equal(unquote('"a\\nb\\x41\\u00e9\\101"'), 'a\nbAéA');
  assert.equal(unquote("'it\\'s'"), "it's");
  assert.equal(unquote('`raw\\n`'), 'raw\\n');
  assert.throws(() => unquote('"bad\\q"'), PromParseError);
  assert.deepEqual(parsePromQL('0x1F'), { t: 'num', v: 31 });
  assert.deepEqual(parsePromQL('-Inf'), { t: 'num', v: -Infinity });
  assert.deepEqual(parsePromQL('1e3'), { t: 'num', v: 1000 });
  const e = parsePromQL('x offset 5m @ 100');
  assert.deepEqual(e, { t: 'vs', matchers: [{ name: '__name__', op: '=', value: 'x' }], offset: 300_000, at: 100_000 });
  assert.throws(() => parsePromQL('x offset 1m offset 2m'), PromParseError);
  assert.throws(() => parsePromQL('rate(x)'), /expected type range vector/);
  assert.throws(() => parsePromQL('x{a=~"("}'), /invalid regular expression/);
});

test('sample values are spelled as Go FormatFloat(f, -1)', () => {
  assert.equal(formatFloatF(1e21), '1000000000000000000000');
  assert.equal(formatFloatF(1.5e-7), '0.00000015');
  assert.equal(formatFloatF(-2.5), '-2.5');
  assert.equal(formatFloatF(NaN), 'NaN');
  assert.equal(formatFloatF(Infinity), '+Inf');
  assert.equal(formatFloatF(-Infinity), '-Inf');
  assert.equal(formatFloatF(0.1 + 0.2), '0.30000000000000004');
});

test('kernels: bucketQuantile and extrapolated rate by hand', () => {
  // 10 observations <= 1, 20 <= 2, 20 in total: the median is the upper end of the first bucket
  assert.equal(bucketQuantile(0.5, [{ upper: 1, count: 10 }, { upper: 2, count: 20 }, { upper: Infinity, count: 20 }]), 1);
  assert.equal(bucketQuantile(0.75, [{ upper: 2, count: 20 }, { upper: 1, count: 10 }, { upper: Infinity, count: 20 }]), 1.5);
  assert.ok(Number.isNaN(bucketQuantile(0.5, [{ upper: 1, count: 10 }])));
  // a counter going 0, 10, 20 at 0 s, 10 s, 20 s in a 30 s window ending at 25 s
  const w = { ts: [0, 10_000, 20_000], vs: [0, 10, 20], lo: 0, hi: 3, ref: 25_000, range: 30_000 };
  // starts at zero (no extrapolation before the first sample), 5 s after the last are extrapolated
  assert.equal(extrapolatedRate(w, true, false), 25);
  // a reset after 10: increase 10 - 5 + 2 = 7 over 20 s, extrapolated 5 s to each edge of [-5 s, 25 s]
  assert.equal(extrapolatedRate({ ...w, vs: [5, 10, 2] }, true, false), 7 * (30 / 20));
});

test('the name catalog reports collisions and serves the name already spelled that way', () => {
  const c = buildCatalog(['a.b', 'a_b', 'c.d', 'x-y', '9z']);
  assert.equal(c.byProm.get('a_b'), 'a_b');
  assert.equal(c.byProm.get('c_d'), 'c.d');
  assert.equal(c.byProm.get('x_y'), 'x-y');
  assert.equal(c.byProm.get('_9z'), '9z');
  assert.deepEqual(c.collisions, ['sonde metrics "a.b", "a_b" all read as "a_b"; serving "a_b" only']);
  const msgs: string[] = [];
  assert.deepEqual(seriesLabels('m', { 'a.b': '1', a_b: '2', c: '' }, (m) => msgs.push(m)), { __name__: 'm', a_b: '1' });
  assert.equal(msgs.length, 1);
});

test('staleness markers are recognised by their bits', () => {
  const b = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;
  assert.equal(isStaleNaN(b), true);
  assert.equal(isStaleNaN(NaN), false);
  assert.equal(isStaleNaN(1), false);
});

const PROMQL_CHARS = fc.constantFrom(...'abcxyz_{}[]()=~!",:.@+-*/%^<>0123456789 mshd'.split(''), ' by ', ' on ', ' offset ', 'rate(', 'sum', '[5m]', '[5m:1m]', ' and ', ' bool ', 'group_left');

test('evaluation gives the event loop turns between series', async () => {
  let turns = 0;
  let running = true;
  const spin = (): void => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const a = await runPromQuery({ query: 'sum by (room) (rate(diff_requests_total[5m])) + on() group_left count(diff_temp)', start: T0, end: T0 + 600_000, step: 15_000, instant: false }, db, { sliceMs: 0 });
  running = false;
  assert.equal(a.resultType, 'matrix');
  assert.ok(turns > 0, 'the event loop ran while the query was evaluated');
});

test('fuzz: any text parses or is a PromParseError', () => {
  const golden = corpus(1767230600).join('\n');
  const check = (s: string): boolean => {
    try {
      parsePromQL(s);
    } catch (e) {
      if (!(e instanceof PromParseError)) throw e;
    }
    return true;
  };
  fc.assert(fc.property(fc.string({ unit: PROMQL_CHARS, maxLength: 40 }), check), { numRuns: RUNS });
  fc.assert(fc.property(mutatedWindow(golden, fc.string({ unit: PROMQL_CHARS, maxLength: 4 }), 4).map((w) => w.split('\n')[0] as string), check), { numRuns: RUNS });
});

test('fuzz: whatever parses evaluates or fails with a PromError', async () => {
  const golden = corpus(1767230600).join('\n');
  const exprs = fc.sample(mutatedWindow(golden, fc.string({ unit: PROMQL_CHARS, maxLength: 3 }), 3).map((w) => w.split('\n')[0] as string), Math.min(RUNS, 1500));
  let evaluated = 0;
  for (const q of exprs) {
    let parsed = true;
    try {
      parsePromQL(q);
    } catch {
      parsed = false;
    }
    if (!parsed) continue;
    try {
      await runPromQuery({ query: q, start: T0, end: T0 + 600_000, step: 60_000, instant: false }, db);
      await runPromQuery({ query: q, start: T0 + 300_000, end: T0 + 300_000, step: 0, instant: true }, db);
      evaluated++;
    } catch (e) {
      if (!(e instanceof PromError)) throw new Error(`${q}: ${(e as Error).stack}`);
    }
  }
  assert.ok(evaluated > 0);
});
