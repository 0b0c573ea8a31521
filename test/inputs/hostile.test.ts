/** Receivers under hostile input over the wire: idle connection floods, gzip bombs, parallel big bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import influxdb, { type InfluxInput } from '../../src/inputs/influxdb.js';
import { testContext } from '../helpers/context.js';
import { exited, freePort, sondeSpawn, waitFor } from '../helpers/spawn.js';

async function startInflux(t: { after: (fn: () => unknown) => void }, cfg: Record<string, unknown> = {}) {
  const ctx = testContext();
  t.after(() => ctx.cleanup());
  const input = influxdb.create(influxdb.schema.parse({ listen: '127.0.0.1:0', ...cfg }), ctx) as InfluxInput;
  await input.start?.();
  t.after(() => input.stop?.());
  return { ctx, port: input.port() as number };
}

test('2,000 idle connections do not lock a real write out (the longest-idle ones are closed for it)', { timeout: 60_000 }, async (t) => {
  const { ctx, port } = await startInflux(t);
  const idle: Socket[] = [];
  t.after(() => {
    for (const s of idle) s.destroy();
  });
  let connected = 0;
  await Promise.all(
    Array.from(
      { length: 2000 },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            connected++;
            resolve();
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          idle.push(s);
        }),
    ),
  );
  assert.ok(connected >= 1000, `${connected} idle connections opened`);
  const r = await fetch(`http://127.0.0.1:${port}/write?db=x&precision=s`, { method: 'POST', body: 'real value=1 1700000000' });
  assert.equal(r.status, 204);
  assert.equal(ctx.emitted.length, 1);
});

test('a gzip bomb (64 MiB of zeros in ~64 KiB) is refused with 413 as it inflates', { timeout: 60_000 }, async (t) => {
  const { port } = await startInflux(t, { max_body_size: '1MiB' });
  // the bomb is compressed as a stream: neither side ever holds the inflated bytes
  const gz = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gz.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((r) => gz.on('end', () => r()));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 64; i++) gz.write(zeros);
  gz.end();
  await done;
  const bomb = Buffer.concat(parts);
  assert.ok(bomb.length < 1 << 20);
  const before = process.memoryUsage().rss;
  const r = await fetch(`http://127.0.0.1:${port}/write?db=x`, { method: 'POST', body: bomb, headers: { 'content-encoding': 'gzip' } });
  assert.equal(r.status, 413);
  assert.match(await r.text(), /exceeds the limit/);
  const grew = process.memoryUsage().rss - before;
  // measured, not asserted tightly: a cap on the inflated size keeps this near max_body_size
  t.diagnostic(`RSS grew ${(grew / 1048576).toFixed(1)} MiB while refusing the bomb`);
  assert.ok(grew < 200 * 1048576, 'the bomb was not inflated into memory');
  // and the receiver still takes writes
  const ok = await fetch(`http://127.0.0.1:${port}/write?db=x&precision=s`, { method: 'POST', body: 'after value=1 1700000000' });
  assert.equal(ok.status, 204);
});

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

test('eight parallel 31 MB bodies: the agent streams them into the store with bounded memory', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const influx = await freePort();
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(cfg, `[agent]\ndata_dir = "data"\nself_metrics = false\n[http]\nlisten = "127.0.0.1:${port}"\n[[inputs.influxdb]]\nlisten = "127.0.0.1:${influx}"\n`);
  const a = sondeSpawn(['run', '-c', cfg]);
  t.after(() => a.child.kill('SIGKILL'));
  await waitFor(() => a.out.stdout.includes('stop with Ctrl-C'), 20_000, 'agent start');
  const pid = a.child.pid as number;
  const before = peakRss(pid);
  // ~31 MB of lines, one body shared by the eight writers (only the agent is measured); each line has a
  // 1 KB string field (dropped and counted) beside its number, so the bytes are many and the points few
  const t0 = Date.now() - 86_400_000;
  const pad = 'x'.repeat(1000);
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 31_000_000; i++) {
    const l = `par,s=s${i % 200} note="${pad}",value=${i} ${t0 + i}`;
    lines.push(l);
    size += l.length + 1;
  }
  const body = Buffer.from(lines.join('\n') + '\n');
  assert.ok(body.length > 30_000_000 && body.length < 32 * 1024 * 1024, `${body.length} bytes`);
  const statuses = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const r = await fetch(`http://127.0.0.1:${influx}/write?db=x&precision=ms`, { method: 'POST', body });
      await r.arrayBuffer();
      return r.status;
    }),
  );
  const peak = peakRss(pid);
  t.diagnostic(`agent peak RSS ${(before / 1048576).toFixed(0)} MB before, ${(peak / 1048576).toFixed(0)} MB after eight parallel ${(body.length / 1e6).toFixed(1)} MB bodies; answers ${statuses.join(',')}`);
  // every body is answered: stored (204) or, past the decode budget, told to retry (503)
  assert.ok(statuses.every((s) => s === 204 || s === 503 || s === 429), statuses.join(','));
  assert.ok(statuses.includes(204));
  // eight bodies read whole would be 250 MB on their own; streamed, the agent holds a few MB of each
  assert.ok(peak - before < 150 * 1048576, `peak RSS grew ${((peak - before) / 1048576).toFixed(0)} MB`);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});
