import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import influxdb, { type InfluxInput } from '../../src/inputs/influxdb.js';
import { testContext, type TestContext } from '../helpers/context.js';

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

async function startInput(cfg: Record<string, unknown> = {}) {
  const ctx = testContext();
  const input = influxdb.create(influxdb.schema.parse({ listen: '127.0.0.1:0', ...cfg }), ctx) as InfluxInput;
  await input.start?.();
  return { input, ctx, base: `http://127.0.0.1:${input.port() ?? 0}` };
}

test('v1 /write: precision, gzip, string fields dropped, db tag, 204', async () => {
  const { input, ctx, base } = await startInput({ database_tag: 'db' });
  try {
    let r = await fetch(`${base}/write?db=telegraf&precision=s`, { method: 'POST', body: 'cpu,host=a usage=1.5,idle=90i,note="x" 1700000000\n' });
    assert.equal(r.status, 204);
    r = await fetch(`${base}/write?db=telegraf`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync('mem value=3 1700000000000000000\n'),
    });
    assert.equal(r.status, 204);
    const byName = new Map(ctx.emitted.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('cpu.usage'), { name: 'cpu.usage', tags: { host: 'a', db: 'telegraf' }, value: 1.5, ts: 1_700_000_000_000, kind: 'untyped' });
    assert.equal(byName.get('cpu.idle')?.int, true);
    assert.equal(byName.get('mem')?.ts, 1_700_000_000_000);
    assert.equal(metric(ctx, 'string_fields_dropped'), 1);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('errors answer like InfluxDB: 400 with {"error"}, 413, 404, missing db', async () => {
  const { input, ctx, base } = await startInput({ max_body_size: 64 });
  try {
    let r = await fetch(`${base}/write?db=x`, { method: 'POST', body: 'good value=1\nbad line here\n' });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /^partial write: unable to parse/);
    assert.equal(ctx.emitted.length, 1);
    r = await fetch(`${base}/write?db=x`, { method: 'POST', body: 'm value=1\n'.repeat(20) });
    assert.equal(r.status, 413);
    r = await fetch(`${base}/write?db=x`, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipSync('m value=1\n'.repeat(20)) });
    assert.equal(r.status, 413);
    r = await fetch(`${base}/write`, { method: 'POST', body: 'm value=1\n' });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { error: 'database is required' });
    r = await fetch(`${base}/write?db=x&precision=fortnights`, { method: 'POST', body: 'm value=1\n' });
    assert.equal(r.status, 400);
    r = await fetch(`${base}/query`);
    assert.equal(r.status, 404);
    r = await fetch(`${base}/ping`);
    assert.equal(r.status, 204);
    assert.ok(r.headers.get('x-influxdb-version'));
    assert.ok(metric(ctx, 'requests_invalid') >= 5);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('v1 credentials (u/p or Basic) and v2 token are enforced when configured', async () => {
  const { input, ctx, base } = await startInput({ username: 'u1', password: 'p1', token: 'tok' });
  try {
    const body = 'm value=1\n';
    assert.equal((await fetch(`${base}/write?db=x`, { method: 'POST', body })).status, 401);
    assert.equal((await fetch(`${base}/write?db=x&u=u1&p=bad`, { method: 'POST', body })).status, 401);
    assert.equal((await fetch(`${base}/write?db=x&u=u1&p=p1`, { method: 'POST', body })).status, 204);
    const basic = 'Basic ' + Buffer.from('u1:p1').toString('base64');
    assert.equal((await fetch(`${base}/write?db=x`, { method: 'POST', body, headers: { authorization: basic } })).status, 204);
    assert.equal((await fetch(`${base}/api/v2/write?bucket=b&org=o`, { method: 'POST', body })).status, 401);
    const v2 = await fetch(`${base}/api/v2/write?bucket=b&org=o&precision=ms`, {
      method: 'POST',
      body: 'm2 value=2 1700000000000\n',
      headers: { authorization: 'Token tok' },
    });
    assert.equal(v2.status, 204);
    const nob = await fetch(`${base}/api/v2/write?org=o`, { method: 'POST', body, headers: { authorization: 'Token tok' } });
    assert.equal(nob.status, 400);
    assert.equal(((await nob.json()) as { code: string }).code, 'invalid');
    assert.equal(ctx.emitted.filter((p) => p.name === 'm').length, 2);
    assert.equal(ctx.emitted.find((p) => p.name === 'm2')?.ts, 1_700_000_000_000);
    assert.equal(metric(ctx, 'auth_failures'), 3);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

/** A body over the parse threads' 32 KiB floor with every kind of line: escapes, quotes over newlines, errors, ints, bools, CRs, comments. */
function mixedBody(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    switch (i % 11) {
      case 0:
        out.push(`cpu,host=h${i % 37},loc=a\\ b usage=${i / 7},idle=${i}i ${1_700_000_000_000_000_000 + i * 1_000_000}`);
        break;
      case 1:
        out.push(`mem\\,x,k\\=1=v used=${i}u,ok=t,note="multi\nline ${i}" ${1_700_000_000_000_000_000 + i}`);
        break;
      case 2:
        out.push(`bad line ${i}`);
        break;
      case 3:
        out.push(`disk,dev=sd${i % 3} free=${-i}.5e-3 ${1_700_000_000_000_000_000 + i}`);
        break;
      case 4:
        out.push(`# comment ${i}`);
        break;
      case 5:
        out.push(`net,if=eth0 rx=${i}i,tx=${i * 2}i ${1_700_000_000_000_000_000 + i}\r`);
        break;
      case 6:
        out.push(`x=1 ${i}`);
        break;
      default:
        out.push(`bench,host=h${i % 101},dc=d${i % 7} value=${i % 997} ${1_700_000_000_000_000_000 + i * 1000}`);
    }
  }
  return out.join('\n') + '\n';
}

test('a body parsed on a parse thread gives what it gives parsed here: points, tags, answer, counters', async () => {
  const body = mixedBody(6000);
  assert.ok(body.length > 64 * 1024);
  const results: Array<{ status: number; text: string; points: unknown[]; invalid: number; strings: number; sharedTags: boolean }> = [];
  for (const parse_threads of [0, 1, 2]) {
    const { input, ctx, base } = await startInput({ parse_threads });
    try {
      // twice: the second time the series are known on either side (caches, a thread's series table)
      let status = 0;
      let text = '';
      for (let k = 0; k < 2; k++) {
        const r = await fetch(`${base}/write?db=x`, { method: 'POST', body });
        status = r.status;
        text = await r.text();
      }
      const byTags = new Map<string, object>();
      let sharedTags = true;
      for (const p of ctx.emitted) {
        const key = JSON.stringify(p.tags);
        const seen = byTags.get(key);
        if (seen !== undefined && seen !== p.tags && p.name === 'bench') sharedTags = false;
        byTags.set(key, p.tags);
      }
      results.push({
        status,
        text,
        points: ctx.emitted.map((p) => ({ ...p, tags: { ...p.tags } })),
        invalid: metric(ctx, 'lines_invalid'),
        strings: metric(ctx, 'string_fields_dropped'),
        sharedTags,
      });
    } finally {
      await input.stop?.();
      ctx.cleanup();
    }
  }
  const [here, one, two] = results;
  assert.equal(here?.status, 400);
  assert.match(here?.text ?? '', /partial write: unable to parse 'bad line 2'/);
  assert.ok((here?.points.length ?? 0) > 5000);
  assert.ok((here?.invalid ?? 0) > 0 && (here?.strings ?? 0) > 0);
  for (const r of [one, two]) {
    assert.deepEqual(r, here);
  }
});

test('with parse threads, small bodies are still parsed here and a stopped receiver answers nothing wrong', async () => {
  const { input, ctx, base } = await startInput({ parse_threads: 1 });
  try {
    const r = await fetch(`${base}/write?db=x&precision=ms`, { method: 'POST', body: 'small value=1 1700000000000\n' });
    assert.equal(r.status, 204);
    assert.deepEqual(ctx.emitted.map((p) => [p.name, p.value, p.ts]), [['small', 1, 1_700_000_000_000]]);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});
