/** Rule expression parser: accepted forms, error messages with hints, and fuzzing (never a non-ExprError). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExprError, formatSelector, parseExpr, parseSelector } from '../../src/alerting/expr.js';
import { alertingSchema, validateAlerting, AlertingConfigError } from '../../src/alerting/schema.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('threshold over a window', () => {
  const e = parseExpr('sum(heartbeat) over 5m >= 50');
  assert.deepEqual(e, { kind: 'threshold', agg: 'sum', selector: { name: 'heartbeat', tags: {} }, window: 300_000, op: '>=', threshold: 50 });
});

test('tags, negation, globs, rate and exponent numbers', () => {
  const e = parseExpr('rate(net.rx_bytes{host="web-*", iface!="lo", dc=eu|us}) over 1m30s > 1.5e6');
  assert.equal(e.kind, 'threshold');
  if (e.kind !== 'threshold') return;
  assert.equal(e.agg, 'rate');
  assert.equal(e.window, 90_000);
  assert.equal(e.threshold, 1.5e6);
  assert.deepEqual(e.selector.tags, { host: 'web-*', iface: '!lo', dc: 'eu|us' });
  assert.equal(formatSelector(e.selector), 'net.rx_bytes{host="web-*", iface!="lo", dc="eu|us"}');
});

test('window defaults to Monasca\'s 60 s period; case-insensitive keywords', () => {
  const e = parseExpr('AVG(cpu.usage) < 3');
  assert.equal(e.kind === 'threshold' && e.window, 60_000);
  assert.equal(parseExpr('max(x) OVER 10s != 0').kind, 'threshold');
});

test('absence forms', () => {
  assert.deepEqual(parseExpr('absent(sonde.heartbeat.received{probe="a"}) for 2m'), {
    kind: 'absent',
    selector: { name: 'sonde.heartbeat.received', tags: { probe: 'a' } },
    window: 120_000,
  });
  assert.deepEqual(parseExpr('no data for 30s', 'x.y{a="b"}'), { kind: 'absent', selector: { name: 'x.y', tags: { a: 'b' } }, window: 30_000 });
  assert.deepEqual(parseExpr('no data(z) for 1h'), { kind: 'absent', selector: { name: 'z', tags: {} }, window: 3_600_000 });
});

test('errors say where and give a hint', () => {
  const cases: Array<[string, RegExp]> = [
    ['median(x) over 5m > 1', /unknown function "median"/],
    ['sum(x) over 5 parsecs > 1', /expected a comparison/],
    ['sum(x) over 5m >', /expected a number/],
    ['sum(x{host}) > 1', /expected = or !=/],
    ['absent(x)', /expected "for"/],
    ['no data for 2m', /needs a metric/],
    ['sum(x) over 0s > 1', /expected a duration/],
    ['sum(x) > 1 extra', /expected the end/],
    ['sum(x{a="b) > 1', /unterminated string/],
    ['', /empty expression/],
  ];
  for (const [src, re] of cases) {
    assert.throws(
      () => parseExpr(src),
      (e: unknown) => e instanceof ExprError && re.test(e.message) && e.hint.length > 0,
      src,
    );
  }
});

test('parseSelector alone', () => {
  assert.deepEqual(parseSelector('a.b{c="d"}'), { name: 'a.b', tags: { c: 'd' } });
  assert.throws(() => parseSelector('a b'), ExprError);
});

test('fuzz: arbitrary text either parses or throws ExprError', () => {
  const alphabet = fc.constantFrom(...'sum(avg)rate absent no data for over{}=!<>,."\'x 5m 1e3 -'.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 })), (s) => {
      try {
        parseExpr(s, 'm');
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
      }
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: generated valid expressions round-trip their parts', () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}[a-z0-9]$/);
  fc.assert(
    fc.property(
      fc.constantFrom('avg', 'min', 'max', 'sum', 'count', 'last', 'rate'),
      name,
      fc.integer({ min: 1, max: 10_000 }),
      fc.constantFrom('>', '>=', '<', '<=', '==', '!='),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }),
      (agg, n, secs, op, thr) => {
        const e = parseExpr(`${agg}(${n}) over ${secs}s ${op} ${thr}`);
        assert.equal(e.kind, 'threshold');
        if (e.kind !== 'threshold') return;
        assert.equal(e.selector.name, n);
        assert.equal(e.window, secs * 1000);
        assert.equal(e.op, op);
        assert.ok(e.threshold === thr, `${e.threshold} !== ${thr}`);
      },
    ),
    { numRuns: Math.min(RUNS, 5000) },
  );
});

test('validateAlerting: config errors carry the key and a hint', () => {
  const bad = (cfg: unknown, key: RegExp): void => {
    const c = alertingSchema.parse(cfg);
    assert.throws(() => validateAlerting(c), (e: unknown) => e instanceof AlertingConfigError && key.test(e.key) && !!e.hint);
  };
  bad({ rules: [{ name: 'a', expr: 'sum(x) over 5m >>= 3' }] }, /^alerting\.rules\[0\]\.expr$/);
  bad({ rules: [{ name: 'a', expr: 'sum(x) > 1' }, { name: 'a', expr: 'sum(x) > 1' }] }, /rules\[1\]\.name/);
  bad({ rules: [{ name: 'a', expr: 'sum(x) > 1', notifiers: ['nope'] }] }, /rules\[0\]\.notifiers/);
  bad({ rules: [{ name: 'a', expr: 'sum(x) > 10', clear_threshold: 20 }] }, /clear_threshold/);
  bad({ rules: [{ name: 'a', expr: 'absent(x) for 1m', clear_threshold: 20 }] }, /clear_threshold/);
  bad({ notifiers: [{ name: 'w', type: 'webhook', url: 'ftp://x' }] }, /notifiers\[0\]\.url/);
  bad({ notifiers: [{ name: 'e', type: 'exec' }] }, /notifiers\[0\]\.command/);
  const ok = validateAlerting(
    alertingSchema.parse({ rules: [{ name: 'hb', expr: 'sum(x) over 1m > 10', clear_threshold: 5, notifiers: ['l'] }], notifiers: [{ name: 'l', type: 'log' }] }),
  );
  assert.equal(ok.length, 1);
  assert.equal(alertingSchema.parse({}).eval_interval, 10_000);
  assert.equal(alertingSchema.parse({ rules: [{ name: 'r', expr: 'sum(x) > 1', for: '2m' }] }).rules[0]?.for, 120_000);
});
