import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import opentsdb, { type OpenTsdbInput } from '../../src/inputs/opentsdb.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

async function startInput(cfg: Record<string, unknown> = {}) {
  const ctx = testContext();
  const input = opentsdb.create(opentsdb.schema.parse({ listen: '127.0.0.1:0', ...cfg }), ctx) as OpenTsdbInput;
  await input.start?.();
  return { input, ctx, port: input.ports().tcp ?? 0 };
}

/** A telnet session: writes `text`, collects replies until `until` matches or the server closes. */
function telnet(port: number, text: string | Buffer, until?: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = connect(port, '127.0.0.1', () => c.write(text));
    const done = (): void => {
      c.destroy();
      resolve(got);
    };
    c.on('data', (d: Buffer) => {
      got += d.toString();
      if (until?.test(got)) done();
    });
    c.on('error', () => resolve(got));
    c.on('close', () => resolve(got));
    if (!until) setTimeout(() => c.end(), 50);
  });
}

test('telnet put lines, version, and TSD error answers on the shared port', async () => {
  const { input, ctx, port } = await startInput();
  try {
    const reply = await telnet(
      port,
      'put sys.cpu.user 1700000000 42.5 host=web1 cpu=0\nput sys.cpu.user 1700000000 abc host=a\nput nometric\nversion\n',
      /Built on/,
    );
    assert.match(reply, /^put: invalid value: For input string: "abc"\nput: illegal argument: not enough arguments/);
    assert.match(reply, /net\.opentsdb/);
    await waitFor(() => ctx.emitted.length === 1, 2000, 'point');
    assert.deepEqual(ctx.emitted[0], { name: 'sys.cpu.user', tags: { host: 'web1', cpu: '0' }, value: 42.5, ts: 1_700_000_000_000, kind: 'untyped' });
    assert.equal(metric(ctx, 'lines_invalid'), 2);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('HTTP /api/put on the same port: object, array, gzip, summary, details, errors', async () => {
  const { input, ctx, port } = await startInput({ http_listen: '127.0.0.1:0' });
  try {
    const base = `http://127.0.0.1:${port}`;
    const dp = (metric: string, value: unknown, tags: unknown = { host: 'a' }) => ({ metric, timestamp: 1_700_000_000, value, tags });
    let r = await fetch(`${base}/api/put`, { method: 'POST', body: JSON.stringify(dp('one', 1)) });
    assert.equal(r.status, 204);
    r = await fetch(`${base}/api/put?summary`, { method: 'POST', body: JSON.stringify([dp('two', 2), dp('three', '3')]) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { failed: 0, success: 2 });
    r = await fetch(`${base}/api/put?details`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify([dp('four', 4), dp('bad', 'x'), dp('notags', 1, {})])),
    });
    assert.equal(r.status, 400);
    const details = (await r.json()) as { success: number; failed: number; errors: { error: string }[] };
    assert.equal(details.success, 1);
    assert.equal(details.failed, 2);
    r = await fetch(`${base}/api/put`, { method: 'POST', body: '{not json' });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: number } }).error.code, 400);
    r = await fetch(`${base}/api/put`);
    assert.equal(r.status, 405);
    r = await fetch(`${base}/api/version`);
    assert.equal(r.status, 200);
    assert.ok('version' in ((await r.json()) as object));
    // the separate HTTP-only port answers too
    r = await fetch(`http://127.0.0.1:${input.ports().http ?? 0}/api/put`, { method: 'POST', body: JSON.stringify(dp('five', 5)) });
    assert.equal(r.status, 204);
    assert.deepEqual(ctx.emitted.map((p) => p.name).sort(), ['five', 'four', 'one', 'three', 'two']);
    assert.equal(metric(ctx, 'points_invalid'), 2);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('random bytes over TCP never stop the receiver; errors are counted', async () => {
  const { input, ctx, port } = await startInput();
  try {
    const n = Math.min(2000, Math.max(100, Math.floor(RUNS / 10)));
    const blobs = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.string({ maxLength: 80 }).map((s) => new TextEncoder().encode('put ' + s + '\n')),
      ),
      n,
    );
    for (let i = 0; i < blobs.length; i += 100) {
      // never starting with an HTTP method, so this stays telnet
      await telnet(port, Buffer.concat([Buffer.from('\n'), ...blobs.slice(i, i + 100).map((b) => Buffer.from(b))]));
    }
    await telnet(port, 'put alive 1700000000 1 a=b\n');
    await waitFor(() => ctx.emitted.some((p) => p.name === 'alive'), 5000, 'alive');
    assert.ok(metric(ctx, 'lines_invalid') > 0);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});
