import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import graphite, { type GraphiteInput } from '../../src/inputs/graphite.js';
import remoteWrite, { type RemoteWriteInput } from '../../src/inputs/remote-write.js';
import { encodeWriteRequest, pointsToTimeSeries, REMOTE_WRITE_HEADERS, snappyCompress } from '../../src/codecs/remote-write.js';
import { SondeError } from '../../src/errors.js';
import type { Ack } from '../../src/core/plugin.js';
import { point } from '../../src/model/point.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

test('a TCP receiver stops reading while the agent has no room, then takes every line (nothing dropped)', { timeout: 30_000 }, async (t) => {
  let open: (() => void) | undefined;
  let blocked = true;
  const gate = new Promise<void>((res) => (open = res));
  const ctx = testContext({ room: () => (blocked ? gate : undefined) });
  t.after(() => ctx.cleanup());
  const input = graphite.create(graphite.schema.parse({ listen: '127.0.0.1:0', pickle: '' }), ctx) as GraphiteInput;
  await input.start?.();
  t.after(() => input.stop?.());
  const N = 200_000;
  const now = Math.floor(Date.now() / 1000);
  const c = connect(input.ports().tcp as number, '127.0.0.1');
  t.after(() => c.destroy());
  await new Promise<void>((res) => c.once('connect', () => res()));
  let i = 0;
  let stalled = false;
  // write until the kernel's buffers are full: the receiver is not reading
  await new Promise<void>((res) => {
    const pump = (): void => {
      while (i < N) {
        let chunk = '';
        for (let k = 0; k < 1000 && i < N; k++, i++) chunk += `bp.m ${i} ${now}\n`;
        if (!c.write(chunk)) {
          stalled = true;
          c.once('drain', pump);
          return res(); // held back: check while the receiver does not read

        }
      }
      res();
    };
    pump();
  });
  assert.ok(stalled, 'the sender was held back');
  assert.ok(i < N, `held back before the end (${i} of ${N} lines written)`);
  // the receiver read a first block of lines, and holds it (and the connection) while there is no room
  await waitFor(() => metric(ctx, 'receiver_messages') >= 1, 10_000, 'a first block of lines');
  assert.equal(ctx.emitted.length, 0, 'nothing emitted while there is no room');
  blocked = false;
  open?.();
  await new Promise<void>((res) => {
    const finish = (): void => {
      if (i >= N) c.end(() => res());
      else setTimeout(finish, 10);
    };
    finish();
  });
  await waitFor(() => ctx.emitted.length === N, 20_000, `all ${N} points`);
  assert.equal(metric(ctx, 'receiver_points_dropped{reason=queue_full}'), 0);
  assert.equal(metric(ctx, 'receiver_points_parsed'), N);
});

async function startRemoteWrite(t: { after: (fn: () => unknown) => void }, ack?: () => Ack, cfg: Record<string, unknown> = {}) {
  const ctx = testContext(ack ? { ack } : {});
  t.after(() => ctx.cleanup());
  const input = remoteWrite.create(remoteWrite.schema.parse({ listen: '127.0.0.1:0', ...cfg }), ctx) as RemoteWriteInput;
  await input.start?.();
  t.after(() => input.stop?.());
  return { ctx, url: `http://127.0.0.1:${input.port()}/api/v1/write` };
}

const body = (n: number): Uint8Array =>
  snappyCompress(encodeWriteRequest(pointsToTimeSeries(Array.from({ length: n }, (_, i) => point('rw_metric', i, 1_700_000_000_000 + i, 'gauge', { job: 'j' })))));

test('remote_write: a snappy WriteRequest is answered 204 once acknowledged; labels become tags', async (t) => {
  const { ctx, url } = await startRemoteWrite(t);
  const r = await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: body(3) });
  assert.equal(r.status, 204);
  assert.deepEqual(
    ctx.emitted.map((p) => [p.name, p.tags['job'], p.value, p.ts]),
    [0, 1, 2].map((i) => ['rw_metric', 'j', i, 1_700_000_000_000 + i]),
  );
  const bad = await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: new Uint8Array([1, 2, 3]) });
  assert.equal(bad.status, 400);
  assert.equal(metric(ctx, 'receiver_points_rejected{reason=invalid}') > 0 || (await bad.text()).length > 0, true);
});

test('remote_write: a refusal is 429/503 with Retry-After (Prometheus retries those)', async (t) => {
  const { url } = await startRemoteWrite(t, () => ({ ok: false, status: 503, reason: 'store cannot write: disk full', retryAfterS: 2 }));
  const r = await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: body(2) });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '2');
  const j = (await r.json()) as { code: string; error: string };
  assert.equal(j.code, 'SONDE_ERR_UNAVAILABLE');
  assert.match(j.error, /disk full/);
});

test('remote_write: off loopback it needs a token, which is then checked (scheme case-insensitive)', async (t) => {
  const ctx = testContext();
  t.after(() => ctx.cleanup());
  const open = remoteWrite.create(remoteWrite.schema.parse({ listen: '0.0.0.0:0' }), ctx);
  await assert.rejects(open.start?.() ?? Promise.resolve(), (e: unknown) => e instanceof SondeError && e.code === 'SONDE_ERR_UNSAFE_BIND');
  const { url } = await startRemoteWrite(t, undefined, { token: 's3cret' });
  assert.equal((await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: body(1) })).status, 401);
  const ok = await fetch(url, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, authorization: 'bEaReR s3cret' }, body: body(1) });
  assert.equal(ok.status, 204);
});
