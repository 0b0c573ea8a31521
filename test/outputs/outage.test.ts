/**
 * Durable delivery against a real backend (victoria-metrics, OpenTSDB HTTP): an outage while points keep
 * coming loses nothing, and a process killed with SIGKILL mid-outage delivers its disk queue after a
 * restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import opentsdb from '../../src/outputs/opentsdb.js';
import { OutputRunner } from '../../src/core/output-runner.js';
import { point } from '../../src/model/point.js';
import { missingServer, startVictoriaMetrics, vmExport } from '../helpers/servers.js';
import { makeOutput, metricsOf, serverForFile, until } from './util.js';

const skip = missingServer('victoria-metrics', 'victoria-metrics');
const vm = serverForFile(skip, startVictoriaMetrics);

const CHILD = fileURLToPath(new URL('../fixtures/outputs/queue-child.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function values(url: string, name: string): Promise<number[]> {
  const s = await vmExport(url, name);
  return [...new Set(s.flatMap((x) => x.values))].sort((a, b) => a - b);
}

test('backend outage: every point written while it was down arrives after it is back', { skip }, async () => {
  const v = vm();
  const { out, ctx } = await makeOutput(opentsdb, { url: `http://127.0.0.1:${v.ports['opentsdbHttp']}`, precision: 'ms', timeout: '1s' });
  const runner = new OutputRunner(ctx.id, out, { batchSize: 20, flushInterval: 50, bufferSize: 10_000, retryMaxDelay: 200, include: [], exclude: [] }, ctx.logger, ctx.metrics);
  runner.start();
  const base = Date.now() - 3_600_000;
  let n = 0;
  const writeSome = (k: number): void => {
    const pts = [];
    for (let i = 0; i < k; i++, n++) pts.push(point('outage.test', n, base + n * 1000, 'gauge', { host: 'h' }));
    runner.push(pts);
  };
  for (let i = 0; i < 5; i++, await sleep(20)) writeSome(10);
  await v.kill();
  for (let i = 0; i < 25; i++, await sleep(20)) writeSome(10); // ~0.5 s of points into a dead backend
  assert.ok((metricsOf(ctx)['write_errors'] ?? 0) > 0, 'writes failed during the outage');
  await v.start();
  for (let i = 0; i < 5; i++, await sleep(20)) writeSome(10);
  const got = await until(() => values(v.url, 'outage.test'), (x) => x.length >= n, 10_000);
  assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
  const m = metricsOf(ctx);
  assert.equal(m['points_dropped{reason=buffer_full}'] ?? 0, 0);
  assert.ok((m['retries'] ?? 0) > 0);
  await runner.stop(1000);
  ctx.cleanup();
});

test('kill -9 mid-outage: the disk queue is delivered by the next process', { skip }, async () => {
  const v = vm();
  const dir = mkdtempSync(join(tmpdir(), 'sonde-crash-'));
  const url = `http://127.0.0.1:${v.ports['opentsdbHttp']}`;
  const run = (first: number, count: number): { child: ChildProcess; out: () => string } => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, join(dir, 'q'), String(first), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    return { child, out: () => text };
  };
  const exit = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
  try {
    await v.kill();
    const a = run(0, 300);
    await until(() => a.out(), (t) => /status .*"write_errors":[1-9]/.test(t), 15_000);
    assert.match(a.out(), /queued 300/);
    a.child.kill('SIGKILL');
    await exit(a.child);
    await v.start();
    const b = run(300, 50);
    const got = await until(() => values(v.url, 'crash.test'), (x) => x.length >= 350, 15_000);
    assert.deepEqual(got, Array.from({ length: 350 }, (_, i) => i), b.out().slice(-2000));
    b.child.kill('SIGKILL');
    await exit(b.child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
