import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../src/core/worker.js';
import type { FromReceiver, ReceiverConfig, ReceiverListening, ToReceiver } from '../../src/inputs/statsd/protocol.js';
import { MIN_BATCH_BYTES } from '../../src/inputs/statsd/datagrams.js';
import { waitFor } from '../helpers/spawn.js';

interface Batch {
  text: string;
  packets: number;
  bytes: number;
  dropped: number;
  buf: ArrayBuffer | undefined;
}

/** Starts the receiving thread and records what it ships. */
async function receiver(cfg: Partial<ReceiverConfig>) {
  const config: ReceiverConfig = {
    udp: '127.0.0.1:0',
    readBuffer: 0,
    batchBytes: MIN_BATCH_BYTES,
    maxInFlightBytes: 64 << 20,
    shipDelayMs: 1,
    ...cfg,
  };
  const w: Worker = startWorker(new URL('../../src/inputs/statsd/worker.js', import.meta.url), { config });
  const batches: Batch[] = [];
  let closed = false;
  const listening = await new Promise<ReceiverListening>((resolve, reject) => {
    w.on('message', (m: FromReceiver) => {
      if (m.t === 'ready') resolve(m.listening);
      else if (m.t === 'error') reject(new Error(m.message));
      else if (m.t === 'batch') {
        batches.push({
          text: m.buf ? Buffer.from(m.buf, 0, m.len).toString('latin1') : '',
          packets: m.packets,
          bytes: m.bytes,
          dropped: m.dropped,
          buf: m.buf,
        });
      } else if (m.t === 'closed') closed = true;
    });
    w.on('error', reject);
  });
  const post = (m: ToReceiver, transfer?: ArrayBuffer[]): void => w.postMessage(m, transfer);
  return { w, batches, listening, post, isClosed: () => closed };
}

function sender(): { s: Socket; send: (port: number, msg: string | Buffer) => Promise<void> } {
  const s = createSocket('udp4');
  return {
    s,
    send: (port, msg) => new Promise<void>((r) => s.send(msg, port, '127.0.0.1', () => r())),
  };
}

test('datagrams arrive as newline-joined batches with their counts', async () => {
  const r = await receiver({});
  const { s, send } = sender();
  try {
    const port = r.listening.udpPort ?? 0;
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      const msg = `a.b:${i}|c\nx:${i}|ms`;
      sent.push(msg);
      await send(port, msg);
    }
    await waitFor(() => r.batches.reduce((n, b) => n + b.packets, 0) >= 200, 5000, 'all datagrams shipped');
    const text = r.batches.map((b) => b.text).join('\n');
    assert.equal(text, sent.join('\n'));
    assert.equal(
      r.batches.reduce((n, b) => n + b.bytes, 0),
      sent.reduce((n, m) => n + m.length, 0),
    );
    assert.equal(r.batches.reduce((n, b) => n + b.dropped, 0), 0);
  } finally {
    s.close();
    await r.w.terminate();
  }
});

test('above the in-flight cap datagrams are dropped and counted, and accepted again once buffers return', async () => {
  // Two batch buffers may be in flight; the buffers are not given back until the end.
  const r = await receiver({ maxInFlightBytes: 2 * MIN_BATCH_BYTES, shipDelayMs: 1 });
  const { s, send } = sender();
  try {
    const port = r.listening.udpPort ?? 0;
    const payload = Buffer.alloc(1000, 'x');
    const N = 300;
    for (let i = 0; i < N; i++) {
      await send(port, payload);
      if (i % 20 === 19) await new Promise((res) => setTimeout(res, 2));
    }
    const received = (): number => r.batches.reduce((n, b) => n + b.packets, 0);
    const dropped = (): number => r.batches.reduce((n, b) => n + b.dropped, 0);
    await waitFor(() => received() + dropped() === N, 5000, 'every datagram shipped or counted as dropped');
    const full = r.batches.filter((b) => b.buf !== undefined);
    assert.equal(full.length, 2, 'no more than two batches in flight');
    assert.ok(dropped() > 0 && received() <= 2 * Math.floor(MIN_BATCH_BYTES / 1001) + 2, `received ${received()} dropped ${dropped()}`);
    // Give one buffer back: new datagrams are shipped again.
    const first = full[0]?.buf as ArrayBuffer;
    r.post({ t: 'free', buf: first }, [first]);
    await new Promise((res) => setTimeout(res, 50));
    const before = received();
    await send(port, 'after:1|c');
    await waitFor(() => received() === before + 1, 5000, 'datagram after a buffer came back');
    assert.equal(r.batches.at(-1)?.text, 'after:1|c');
  } finally {
    s.close();
    await r.w.terminate();
  }
});

test('close ships the batch still being filled before answering closed', async () => {
  // A long ship delay: only a full batch or close ships anything.
  const r = await receiver({ shipDelayMs: 60_000 });
  const { s, send } = sender();
  try {
    const port = r.listening.udpPort ?? 0;
    for (let i = 0; i < 5; i++) await send(port, `small:${i}|c`);
    // This one does not fit beside the five: the first batch ships, proving they were received.
    const big = Buffer.alloc(65_507, 'y');
    await send(port, big);
    await waitFor(() => r.batches.length === 1, 5000, 'first batch');
    assert.equal(r.batches[0]?.packets, 5);
    r.post({ t: 'close' });
    await waitFor(() => r.isClosed(), 5000, 'closed');
    assert.equal(r.batches.length, 2);
    assert.equal(r.batches[1]?.packets, 1);
    assert.equal(r.batches[1]?.bytes, 65_507);
  } finally {
    s.close();
    await r.w.terminate();
  }
});

test('a bad address is reported as an error message', async () => {
  await assert.rejects(receiver({ udp: 'nonsense' }), /udp/);
});
