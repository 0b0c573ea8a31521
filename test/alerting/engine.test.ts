/** Rule evaluation with a fake clock: windows, `for`, absence, hysteresis, restarts, group_by, UNDETERMINED. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alerting } from '../../src/alerting/index.js';
import { alertingSchema } from '../../src/alerting/schema.js';
import { aggregate, type Sample } from '../../src/alerting/engine.js';
import { contributeRule } from '../../src/alerting/bus.js';
import { ruleSchema } from '../../src/alerting/schema.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { Router } from '../../src/http/router.js';
import type { Point } from '../../src/model/point.js';
import type { QueryRequest, QueryResult, StoreHandle } from '../../src/store/handle.js';

const T0 = 1_700_000_000_000;

interface Rig {
  al: Alerting;
  emitted: Point[];
  metrics: SelfMetrics;
  dir: string;
  clock: { now: number };
  at(ms: number): Promise<string[]>;
  feed(name: string, value: number, tags?: Record<string, string>, ts?: number): void;
}

function rig(cfg: unknown, opts: { dir?: string; store?: StoreHandle; start?: number } = {}): Rig {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sonde-alert-'));
  const clock = { now: opts.start ?? T0 };
  const emitted: Point[] = [];
  const metrics = new SelfMetrics();
  const al = new Alerting(alertingSchema.parse(cfg), {
    store: opts.store,
    logger: silentLogger,
    metrics,
    http: new Router(),
    dataDir: dir,
    hostname: 'h',
    emit: (p) => {
      emitted.push(...p);
      return true;
    },
    now: () => clock.now,
  });
  al.load();
  return {
    al,
    emitted,
    metrics,
    dir,
    clock,
    async at(ms) {
      clock.now = T0 + ms;
      const ts = await al.evaluate(clock.now);
      return ts.map((t) => `${t.rule.config.name}${Object.keys(t.alert.group).length ? JSON.stringify(t.alert.group) : ''}:${t.oldState}->${t.newState}${t.repeat ? ' (repeat)' : ''}`);
    },
    feed(name, value, tags = {}, ts) {
      al.observe([{ name, value, tags, ts: ts ?? clock.now, kind: 'gauge' }]);
    },
  };
}

function stateOf(r: Rig, rule: string, key = ''): string | undefined {
  return r.al.rules.find((x) => x.rule.config.name === rule)?.alerts.get(key)?.state;
}

test('threshold on a window: sum over 1m, data leaving the window clears it', async () => {
  const r = rig({ rules: [{ name: 'hb', expr: 'sum(heartbeat) over 1m >= 5', source: 'stream' }] });
  assert.equal(stateOf(r, 'hb'), 'UNDETERMINED');
  for (let i = 0; i < 4; i++) {
    r.clock.now = T0 + i * 10_000;
    r.feed('heartbeat', 1);
    r.feed('other', 100);
  }
  assert.deepEqual(await r.at(35_000), ['hb:UNDETERMINED->OK']);
  r.clock.now = T0 + 40_000;
  r.feed('heartbeat', 1);
  assert.deepEqual(await r.at(41_000), ['hb:OK->ALARM']);
  assert.deepEqual(await r.at(45_000), []);
  // the sample at t=0 leaves the 1m window at t=60s: sum drops to 4
  assert.deepEqual(await r.at(60_001), ['hb:ALARM->OK']);
  rmSync(r.dir, { recursive: true, force: true });
});

test('`for`: the condition must hold that long; an interruption restarts it', async () => {
  const r = rig({ rules: [{ name: 'hot', expr: 'last(temp) over 1m > 50', for: '30s', source: 'stream' }] });
  const val = async (ms: number, v: number): Promise<string[]> => {
    r.clock.now = T0 + ms;
    r.feed('temp', v);
    return r.at(ms);
  };
  assert.deepEqual(await val(0, 60), []);
  assert.deepEqual(await val(10_000, 60), []);
  assert.deepEqual(await val(20_000, 40), ['hot:UNDETERMINED->OK']);
  assert.deepEqual(await val(30_000, 60), []);
  assert.deepEqual(await val(50_000, 60), []);
  assert.deepEqual(await val(60_000, 60), ['hot:OK->ALARM']);
  rmSync(r.dir, { recursive: true, force: true });
});

test('absence: counted from the last sample, never from before the start', async () => {
  const r = rig({ rules: [{ name: 'gone', expr: 'absent(beat{probe="p"}) for 20s', source: 'stream' }] });
  // nothing yet, but the agent only just started
  assert.deepEqual(await r.at(10_000), ['gone:UNDETERMINED->OK']);
  assert.deepEqual(await r.at(20_000), ['gone:OK->ALARM']);
  r.clock.now = T0 + 21_000;
  r.feed('beat', 1, { probe: 'other' });
  assert.deepEqual(await r.at(22_000), [], 'other probe does not count');
  r.feed('beat', 1, { probe: 'p' });
  assert.deepEqual(await r.at(23_000), ['gone:ALARM->OK']);
  // last sample at 22 s (the clock when it was fed)
  assert.deepEqual(await r.at(41_999), []);
  assert.deepEqual(await r.at(42_000), ['gone:OK->ALARM']);
  rmSync(r.dir, { recursive: true, force: true });
});

test('flapping: clear_threshold keeps the alarm between the thresholds; recover_for delays OK', async () => {
  const run = async (extra: Record<string, unknown>, values: number[]): Promise<string[]> => {
    const r = rig({ rules: [{ name: 'cpu', expr: 'last(cpu) over 1m > 90', source: 'stream', ...extra }] });
    const out: string[] = [];
    for (const [i, v] of values.entries()) {
      r.clock.now = T0 + i * 10_000;
      r.feed('cpu', v);
      out.push(...(await r.at(i * 10_000)).map((s) => `${i}:${s}`));
    }
    rmSync(r.dir, { recursive: true, force: true });
    return out;
  };
  const flappy = [95, 85, 92, 88, 93, 70, 95];
  assert.deepEqual(await run({}, flappy), ['0:cpu:UNDETERMINED->ALARM', '1:cpu:ALARM->OK', '2:cpu:OK->ALARM', '3:cpu:ALARM->OK', '4:cpu:OK->ALARM', '5:cpu:ALARM->OK', '6:cpu:OK->ALARM']);
  assert.deepEqual(await run({ clear_threshold: 80 }, flappy), ['0:cpu:UNDETERMINED->ALARM', '5:cpu:ALARM->OK', '6:cpu:OK->ALARM']);
  assert.deepEqual(await run({ recover_for: '15s' }, [95, 85, 92, 85, 85, 85]), ['0:cpu:UNDETERMINED->ALARM', '5:cpu:ALARM->OK']);
});

test('group_by: one alert per group, each with its own state', async () => {
  const r = rig({ rules: [{ name: 'disk', expr: 'max(disk.used_pct) over 1m > 90', group_by: ['host'], source: 'stream' }] });
  assert.equal(r.al.rules[0]?.alerts.size, 0, 'groups appear with data');
  r.feed('disk.used_pct', 95, { host: 'a', mount: '/' });
  r.feed('disk.used_pct', 50, { host: 'b', mount: '/' });
  r.feed('disk.used_pct', 99, { host: 'b', mount: '/var' });
  r.feed('disk.used_pct', 10, { host: 'c' });
  const t = await r.at(1000);
  assert.deepEqual(t.sort(), ['disk{"host":"a"}:UNDETERMINED->ALARM', 'disk{"host":"b"}:UNDETERMINED->ALARM', 'disk{"host":"c"}:UNDETERMINED->OK']);
  const states = r.emitted.filter((p) => p.name === 'sonde.alert.state').map((p) => `${p.tags['host']}=${p.value}`).sort();
  assert.deepEqual(states, ['a=1', 'b=1', 'c=0']);
  assert.equal(r.metrics.global()['alerts_firing'], 2);
  rmSync(r.dir, { recursive: true, force: true });
});

test('UNDETERMINED: no data to decide, after the warm-up; no_data_state changes it', async () => {
  const r = rig({
    rules: [
      { name: 'u', expr: 'avg(x) over 30s > 10', source: 'stream' },
      { name: 'k', expr: 'avg(x) over 30s > 10', source: 'stream', no_data_state: 'keep' },
      { name: 'a', expr: 'avg(x) over 30s > 10', source: 'stream', no_data_state: 'alarm' },
    ],
  });
  r.feed('x', 20);
  assert.deepEqual((await r.at(1000)).sort(), ['a:UNDETERMINED->ALARM', 'k:UNDETERMINED->ALARM', 'u:UNDETERMINED->ALARM']);
  assert.deepEqual((await r.at(25_000)).sort(), [], 'within the window');
  assert.deepEqual((await r.at(31_000)).sort(), ['u:ALARM->UNDETERMINED']);
  rmSync(r.dir, { recursive: true, force: true });
});

test('a stream rule right after a start keeps its state while its window fills', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-alert-'));
  const cfg = { rules: [{ name: 'w', expr: 'avg(x) over 1m > 10', source: 'stream' }] };
  const a = rig(cfg, { dir });
  a.feed('x', 20);
  assert.deepEqual(await a.at(1000), ['w:UNDETERMINED->ALARM']);
  await a.al.stop();
  const b = rig(cfg, { dir, start: T0 + 5000 });
  assert.deepEqual(await b.at(10_000), [], 'no data yet, but not UNDETERMINED either');
  assert.deepEqual(await b.at(66_000), ['w:ALARM->UNDETERMINED']);
  rmSync(dir, { recursive: true, force: true });
});

test('restart in the middle of a `for`: the timer goes on, and a fired alarm does not fire again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-alert-'));
  const cfg = {
    rules: [{ name: 'slow', expr: 'last(q) over 5m > 100', for: '60s', repeat_interval: '0s', source: 'stream' }],
    notifiers: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/x' }],
  };
  const a = rig(cfg, { dir });
  a.feed('q', 200);
  assert.deepEqual(await a.at(0), []);
  a.clock.now = T0 + 30_000;
  a.feed('q', 200);
  assert.deepEqual(await a.at(30_000), []);
  await a.al.stop();
  const saved = JSON.parse(readFileSync(join(dir, 'alerting', 'state.json'), 'utf8')) as { rules: Record<string, { alerts: Array<{ pendingSince: number }> }> };
  assert.equal(saved.rules['slow']?.alerts[0]?.pendingSince, T0);

  // the restarted agent sees the condition still true: the `for` started at T0 completes at T0+60s
  const b = rig(cfg, { dir, start: T0 + 40_000 });
  b.clock.now = T0 + 45_000;
  b.feed('q', 300);
  assert.deepEqual(await b.at(45_000), []);
  b.feed('q', 300);
  assert.deepEqual(await b.at(60_000), ['slow:UNDETERMINED->ALARM']);
  assert.equal(b.al.outbox.pending.length, 1, 'one notification queued');
  await b.al.stop();

  // and a third start, still in ALARM: no new transition, the undelivered notification is still queued once
  const c = rig(cfg, { dir, start: T0 + 70_000 });
  c.clock.now = T0 + 75_000;
  c.feed('q', 300);
  assert.deepEqual(await c.at(80_000), []);
  assert.equal(c.al.outbox.pending.length, 1);
  assert.equal(c.al.outbox.pending[0]?.notice.state, 'ALARM');
  rmSync(dir, { recursive: true, force: true });
});

test('a changed expression drops the saved state of that rule', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-alert-'));
  const a = rig({ rules: [{ name: 'r', expr: 'last(q) over 1m > 1', source: 'stream' }] }, { dir });
  a.feed('q', 5);
  assert.deepEqual(await a.at(0), ['r:UNDETERMINED->ALARM']);
  await a.al.stop();
  const b = rig({ rules: [{ name: 'r', expr: 'last(q) over 1m > 10', source: 'stream' }] }, { dir });
  assert.equal(stateOf(b, 'r'), 'UNDETERMINED');
  rmSync(dir, { recursive: true, force: true });
});

test('rate of change, reset-aware, per series then summed', () => {
  const s = (series: string, ts: number, value: number): Sample => ({ series, tags: {}, ts, value });
  assert.equal(aggregate('rate', [s('a', 0, 100), s('a', 10_000, 200)]), 10);
  // counter reset: 100 -> 150 -> 20 (restart) -> 70: increase 50 + 20 + 50 over 30 s
  assert.equal(aggregate('rate', [s('a', 0, 100), s('a', 10_000, 150), s('a', 20_000, 20), s('a', 30_000, 70)]), 4);
  assert.equal(aggregate('rate', [s('a', 0, 0), s('a', 1000, 5), s('b', 0, 0), s('b', 2000, 4)]), 7);
  assert.equal(aggregate('rate', [s('a', 0, 1)]), undefined);
  assert.equal(aggregate('count', [s('a', 0, 1), s('b', 1, 1)]), 2);
  assert.equal(aggregate('last', [s('a', 5, 1), s('b', 9, 7), s('a', 3, 2)]), 7);
  assert.equal(aggregate('avg', []), undefined);
});

test('store rules query the store over the window; a failing query changes nothing', async () => {
  const queries: QueryRequest[] = [];
  let fail = false;
  const store = {
    async query(req: QueryRequest): Promise<QueryResult> {
      queries.push(req);
      if (fail) throw new Error('store closed');
      return { series: [{ name: 'net.rx', tags: { host: 'a' }, timestamps: [req.end - 20_001, req.end - 10_001], values: [1000, 61_000] }], truncated: false, resolution: 'raw' };
    },
  } as unknown as StoreHandle;
  const r = rig({ rules: [{ name: 'net', expr: 'rate(net.rx{host="a"}) over 5m > 1000' }] }, { store });
  assert.deepEqual(await r.at(1000), ['net:UNDETERMINED->ALARM']);
  assert.equal(queries[0]?.name, 'net.rx');
  assert.deepEqual(queries[0]?.tags, { host: 'a' });
  assert.equal((queries[0]?.end ?? 0) - (queries[0]?.start ?? 0), 300_001);
  fail = true;
  assert.deepEqual(await r.at(2000), []);
  assert.equal(stateOf(r, 'net'), 'ALARM');
  assert.equal(r.metrics.global()['alert_evaluation_errors'], 1);
  rmSync(r.dir, { recursive: true, force: true });
});

test('repeat_interval re-notifies a lasting alarm', async () => {
  const r = rig({ rules: [{ name: 'r', expr: 'last(q) over 10m > 1', repeat_interval: '1m', source: 'stream' }] });
  r.feed('q', 5);
  assert.deepEqual(await r.at(0), ['r:UNDETERMINED->ALARM']);
  assert.deepEqual(await r.at(30_000), []);
  assert.deepEqual(await r.at(60_000), ['r:ALARM->ALARM (repeat)']);
  assert.deepEqual(await r.at(90_000), []);
  rmSync(r.dir, { recursive: true, force: true });
});

test('rules contributed by plugins join the alerting of the same data dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-alert-'));
  const withdraw = contributeRule(dir, ruleSchema.parse({ name: 'hb', expr: 'absent(ping) for 5s', source: 'stream' }));
  const r = rig({}, { dir });
  assert.deepEqual(await r.at(6000), ['hb:UNDETERMINED->ALARM']);
  withdraw();
  assert.equal(r.al.rules.length, 0);
  rmSync(dir, { recursive: true, force: true });
});
