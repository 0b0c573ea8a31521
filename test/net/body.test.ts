import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import { deflateSync } from 'node:zlib';
import { DecodeBudget, readRequestBody, streamRequestBody, SUPPORTED_ENCODINGS, type BodyResult } from '../../src/net/body.js';
import { snappyCompress } from '../../src/codecs/remote-write.js';

async function serve(handle: (req: IncomingMessage) => Promise<unknown>) {
  const results: unknown[] = [];
  const srv = createServer((req, res) => {
    void handle(req).then((r) => {
      results.push(r);
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const post = (body: Buffer | (() => void), headers: Record<string, string> = {}) =>
    new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      if (typeof body === 'function') body();
      else req.end(body);
    });
  return { results, post, close: () => new Promise<void>((r) => srv.close(() => r())), port };
}

test('deflate and snappy bodies are decoded; a snappy body declaring more than the limit is 413 before inflating', async (t) => {
  const s = await serve((req) => readRequestBody(req, 1000));
  t.after(() => s.close());
  await s.post(deflateSync('deflated'), { 'content-encoding': 'deflate' });
  await s.post(Buffer.from(snappyCompress(Buffer.from('snappy!'))), { 'content-encoding': 'snappy' });
  await s.post(Buffer.from(snappyCompress(Buffer.alloc(5000))), { 'content-encoding': 'snappy' });
  const [a, b, c] = s.results as BodyResult[];
  assert.ok(a?.ok && a.body.toString() === 'deflated');
  assert.ok(b?.ok && b.body.toString() === 'snappy!');
  assert.ok(c && !c.ok && c.status === 413);
  // zstd where this Node has it; otherwise a 415 that says which Node is needed
  if (!SUPPORTED_ENCODINGS.includes('zstd')) {
    await s.post(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), { 'content-encoding': 'zstd' });
    const z = s.results[3] as BodyResult;
    assert.ok(!z.ok && z.status === 415 && /Node 22\.15/.test(z.message));
  }
});

test('bytes being decoded at once are bounded across requests: past the budget a request gets 503', async (t) => {
  const budget = new DecodeBudget(64 * 1024);
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => (release = r));
  let first = true;
  const s = await serve((req) =>
    streamRequestBody(req, { limit: 1 << 20, budget }, async () => {
      // the first request holds its chunk (as a slow parse would) until told to go on
      if (first) {
        first = false;
        await held;
      }
    }),
  );
  t.after(() => s.close());
  const one = s.post(Buffer.alloc(60 * 1024, 97));
  // wait until the first request holds budget
  for (let i = 0; i < 200 && budget.inUse === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(budget.inUse > 0);
  await s.post(Buffer.alloc(60 * 1024, 98));
  const second = s.results[0] as { ok: boolean; status?: number; retryAfterS?: number };
  assert.equal(second.ok, false);
  assert.equal(second.status, 503);
  assert.equal(second.retryAfterS, 1);
  release?.();
  await one;
  assert.equal((s.results[1] as { ok: boolean }).ok, true);
  assert.equal(budget.inUse, 0, 'every reservation given back');
});
