import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { resolve } from 'node:path';
import { parseInstrumentConfig } from '../../src/instrument/config.js';
import { Instrumenter, loadHelpers } from '../../src/instrument/instrumenter.js';
import { createNotifier, type Notifier } from '../../src/instrument/notifiers.js';
import { wrapFunction } from '../../src/instrument/wrap.js';
import { ConfigError } from '../../src/errors.js';

const file = resolve('test/fixtures/instrument/virtual.conf');

/** A notifier that records what it is told. */
function recorder(): Notifier & { timings: Array<[string, number]>; counts: Array<[string, number]> } {
  const r = {
    timings: [] as Array<[string, number]>,
    counts: [] as Array<[string, number]>,
    timing(k: string, ms: number) { r.timings.push([k, ms]); },
    count(k: string, n: number) { r.counts.push([k, n]); },
    flush: () => Promise.resolve(),
    pending: () => false,
    close: () => Promise.resolve(),
  };
  return r;
}

test('wrapper: same result, this and arguments; errors pass through and are counted', async () => {
  const n = recorder();
  const obj = { k: 2, f(a: number) { if (a < 0) throw new RangeError('neg'); return this.k * a; } };
  const timed = wrapFunction(obj.f, { label: 'f', metric: 'exec_time', notifier: n }) as typeof obj.f;
  assert.equal(timed.call(obj, 21), 42);
  assert.equal(timed.name, 'f');
  assert.equal(timed.length, 1);
  const errs = wrapFunction(obj.f, { label: 'f.errors', metric: 'errors', notifier: n }) as typeof obj.f;
  const thrown = new RangeError('neg');
  const orig = (): never => { throw thrown; };
  assert.throws(() => errs.call(obj, -1), RangeError);
  assert.throws(() => (wrapFunction(orig, { label: 'o', metric: 'errors', notifier: n }) as () => void)(), (e) => e === thrown);
  assert.equal(errs.call(obj, 1), 2);
  assert.deepEqual(n.counts, [['f.errors', 1], ['o', 1]]);
  assert.equal(n.timings.length, 1);
  assert.equal(n.timings[0]?.[0], 'f');
});

test('wrapper: async functions are timed until they settle; rejections counted and rethrown', async () => {
  const n = recorder();
  const slow = async (ms: number): Promise<number> => { await new Promise((r) => setTimeout(r, ms)); if (ms > 100) throw new Error('too slow'); return ms; };
  const t = wrapFunction(slow, { label: 's', metric: 'exec_time', notifier: n }) as typeof slow;
  assert.equal(await t(30), 30);
  assert.ok((n.timings[0]?.[1] ?? 0) >= 25, `timed ${n.timings[0]?.[1]}`);
  const e = wrapFunction(slow, { label: 'e', metric: 'errors', notifier: n }) as typeof slow;
  await assert.rejects(e(101), /too slow/);
  assert.equal(await e(1), 1);
  assert.deepEqual(n.counts, [['e', 1]]);
});

test('app and post_app name the metric and may rewrite arguments and result', async () => {
  const n = recorder();
  const add = (a: number, b: number): number => a + b;
  const w = wrapFunction(add, {
    label: 'add',
    metric: 'increment',
    notifier: n,
    app: (a, b) => [[Number(a) * 10, b], `add.${String(a)}`],
    postApp: (result) => [Number(result) + 1, undefined],
  }) as typeof add;
  assert.equal(w(1, 2), 13);
  const bad = wrapFunction(add, { label: 'bad', metric: 'increment', notifier: n, app: () => { throw new Error('helper bug'); }, onHelperError: () => n.counts.push(['helper-error', 1]) }) as typeof add;
  assert.equal(bad(1, 2), 3, 'a throwing helper does not break the call');
  assert.deepEqual(n.counts, [['add.1', 1], ['helper-error', 1], ['bad', 1]]);
});

test('Instrumenter.patch: prototype, static, plain functions and Tach-style module:Class; detach restores', async () => {
  class Resource {
    process(x: number): number { return x + 1; }
    static make(): string { return 'made'; }
  }
  const origProcess = Resource.prototype.process;
  const origMake = Resource.make;
  const helper = (x: number): number => x * 2;
  const exports = { Resource, helper };
  const cfg = parseInstrumentConfig(
    ['[r.proc]', 'module = pkg:Resource', 'method = process', 'metric = increment',
      '[r.make]', 'module = pkg', 'method = Resource.make', 'metric = increment',
      '[r.helper]', 'module = pkg', 'method = helper', 'metric = increment',
      '[r.missing]', 'module = pkg', 'method = Resource.prototype.nope', 'metric = increment'].join('\n'),
    file,
  );
  const n = recorder();
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {}, child() { return logger; }, level: 'warn' as const };
  const inst = new Instrumenter(cfg, { notifiers: new Map([['print', n]]), logger });
  inst.patch(exports, cfg.methods);
  inst.patch(exports, cfg.methods); // a second load of the same module does not wrap twice
  assert.equal(inst.patchedCount, 3);
  assert.equal(new Resource().process(1), 2);
  assert.equal(Resource.make(), 'made');
  assert.equal(exports.helper(4), 8);
  assert.deepEqual(n.counts.map(([k]) => k), ['r.proc', 'r.make', 'r.helper']);
  assert.ok(warnings.some((w) => w.includes('r.missing') && w.includes('not found')));
  inst.detach();
  assert.equal(Resource.prototype.process, origProcess);
  assert.equal(Resource.make, origMake);
  assert.equal(exports.helper, helper);
  assert.equal(inst.patchedCount, 0);
});

test('loadHelpers finds the configured functions or fails with the config line', async () => {
  const ok = parseInstrumentConfig('[x]\nmodule = m\nmethod = f\nmetric = increment\napp_path = ./helper.cjs\napp = route_key\n', file);
  const fns = await loadHelpers(ok);
  assert.equal(fns.size, 1);
  const bad = parseInstrumentConfig('[x]\nmodule = m\nmethod = f\nmetric = increment\napp_path = ./helper.cjs\napp = nope\n', file);
  await assert.rejects(loadHelpers(bad), (e) => e instanceof ConfigError && e.issues[0]?.line === 6 && /route_key/.test(e.issues[0]?.hint ?? ''));
});

test('statsd notifier batches: many calls, few datagrams, counts summed per key', async () => {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const n = createNotifier({ name: 's', driver: 'statsd', host: '127.0.0.1', port: sock.address().port, prefix: 'app', flushIntervalMs: 60_000, maxPacketSize: 512, url: '' }, { debug() {}, info() {}, warn() {}, error() {}, child() { throw new Error(); }, level: 'warn' });
  for (let i = 0; i < 1000; i++) n.count('hits', 1);
  for (let i = 0; i < 100; i++) n.timing('lat', i);
  await n.close();
  const deadline = Date.now() + 3000;
  const lines = (): string[] => got.flatMap((g) => g.split('\n'));
  while (lines().length < 101 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(got.length < 20, `${got.length} datagrams`);
  assert.ok(got.every((g) => Buffer.byteLength(g) <= 512));
  const l = lines();
  assert.equal(l.filter((x) => x.startsWith('app.lat:')).length, 100);
  assert.equal(l.filter((x) => x.startsWith('app.hits:')).reduce((a, x) => a + Number(/:(\d+)\|c/.exec(x)?.[1]), 0), 1000);
  sock.close();
});
