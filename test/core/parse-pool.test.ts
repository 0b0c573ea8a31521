import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParsePool } from '../../src/core/parse-pool.js';
import { parseInfluxLines } from '../../src/codecs/influx.js';
import { waitFor } from '../helpers/spawn.js';

const OPTS = { precision: 'ms' as const, now: 1_700_000_000_000, sanitize: false };
const body = (n: number, from = 0): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => `m,host=h${(from + i) % 13} value=${from + i},c=${i}i ${1_700_000_000_000 + from + i}`).join('\n') + '\nbad\n');

test('a body given in pieces parses on a thread to what it parses to here', async (t) => {
  const pool = new ParsePool(2, () => undefined);
  t.after(() => pool.stop());
  const whole = body(3000);
  // cut at odd places, mid-line included: the thread gets the bytes joined in order
  const parts = [whole.subarray(0, 7), whole.subarray(7, 40_001), whole.subarray(40_001)];
  const here = parseInfluxLines(whole, { ...OPTS, strings: 'drop' });
  for (let round = 0; round < 3; round++) {
    const r = await pool.parseInflux(parts, whole.length, OPTS);
    assert.ok(r !== undefined, 'parsed on a thread');
    assert.deepEqual(r.batch.points(), here.items);
    assert.deepEqual(r.errors, here.errors);
    assert.equal(r.droppedStrings, here.droppedStrings);
  }
  // many at once spread over both threads, each answer its own body
  const bodies = Array.from({ length: 12 }, (_, k) => body(500 + k, k * 1000));
  const all = await Promise.all(bodies.map((b) => pool.parseInflux([b], b.length, OPTS)));
  for (const [k, r] of all.entries()) assert.deepEqual(r?.batch.points(), parseInfluxLines(bodies[k] as Buffer, { ...OPTS, strings: 'drop' }).items);
  assert.equal(pool.running, 2);
});

test('threads stop when unused and start again on the next body; a stopped pool hands bodies back', async (t) => {
  const pool = new ParsePool(1, () => undefined, 200);
  t.after(() => pool.stop());
  const b = body(100);
  assert.ok((await pool.parseInflux([b], b.length, OPTS)) !== undefined);
  assert.equal(pool.running, 1);
  await waitFor(() => pool.running === 0, 10_000, 'the idle thread to stop');
  const again = await pool.parseInflux([b], b.length, OPTS);
  assert.deepEqual(again?.batch.points(), parseInfluxLines(b, { ...OPTS, strings: 'drop' }).items);
  await pool.stop();
  assert.equal(await pool.parseInflux([b], b.length, OPTS), undefined);
  assert.equal(new ParsePool(0, () => undefined).running, 0);
  assert.equal(await new ParsePool(0, () => undefined).parseInflux([b], b.length, OPTS), undefined);
});

test('a thread that dies hands its bodies back to be parsed here, says so, and is not restarted at once', async (t) => {
  const said: string[] = [];
  const pool = new ParsePool(1, (msg) => void said.push(msg));
  t.after(() => pool.stop());
  const b = body(50_000);
  const pending = pool.parseInflux([b], b.length, OPTS);
  const threads = (pool as unknown as { threads: Array<{ worker: { terminate(): Promise<number> } } | undefined> }).threads;
  await threads[0]?.worker.terminate();
  assert.equal(await pending, undefined);
  assert.ok(said.some((m) => /parse thread exited/.test(m)), said.join('; '));
  assert.equal(await pool.parseInflux([b], b.length, OPTS), undefined, 'parsed on the agent thread for a while');
});
