/**
 * Tach configs as written for Tach: `method = Class.method` naming an instance method, and the
 * Graphite notifier sending one `label value now` line per call over a connection the server keeps
 * open (as carbon does), without "send failed" warnings for sends that worked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseInstrumentConfig } from '../../src/instrument/config.js';
import { Instrumenter } from '../../src/instrument/instrumenter.js';
import { createNotifier, instrumentMetrics, type Notifier } from '../../src/instrument/notifiers.js';
import type { Logger } from '../../src/core/logger.js';
import { missingServer, startCarbon, whisperFetch } from '../helpers/servers.js';

const file = resolve('test/fixtures/instrument/virtual.conf');

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m: string, f?: unknown) => warnings.push(`${m} ${JSON.stringify(f ?? {})}`), error: (m: string) => warnings.push(m), child: () => logger, level: 'warn' } as unknown as Logger;
  return { logger, warnings };
}

function recorder(): Notifier & { counts: Array<[string, number]> } {
  const r = {
    counts: [] as Array<[string, number]>,
    timing() {},
    count(k: string, n: number) { r.counts.push([k, n]); },
    flush: () => Promise.resolve(),
    pending: () => false,
    close: () => Promise.resolve(),
  };
  return r;
}

test('method = Class.method on an instance method patches the prototype; a static of that name wins; an instance field says why not', () => {
  class ProxyCallback {
    _process_data(x: number): number { return x * 2; }
    static version(): string { return 'static'; }
    version(): string { return 'instance'; }
  }
  class WithField {
    handle = (x: number): number => x;
  }
  const exports = { nova: { rpc: { ProxyCallback } }, WithField };
  const cfg = parseInstrumentConfig(
    ['[nova.compute.queue_receive]', 'module = pkg:nova.rpc', 'method = ProxyCallback._process_data', 'metric = tach.metrics.Increment',
      '[v]', 'module = pkg:nova.rpc', 'method = ProxyCallback.version', 'metric = increment',
      '[field]', 'module = pkg', 'method = WithField.handle', 'metric = increment'].join('\n'),
    file,
  );
  const n = recorder();
  const { logger, warnings } = capture();
  const inst = new Instrumenter(cfg, { notifiers: new Map([['print', n]]), logger });
  inst.patch(exports, cfg.methods);
  assert.equal(inst.patchedCount, 2);
  assert.equal(new ProxyCallback()._process_data(21), 42);
  assert.equal(new ProxyCallback()._process_data(1), 2);
  assert.equal(ProxyCallback.version(), 'static');
  assert.equal(new ProxyCallback().version(), 'instance');
  assert.deepEqual(n.counts, [['nova.compute.queue_receive', 1], ['nova.compute.queue_receive', 1], ['v', 1]]);
  assert.ok(warnings.some((w) => w.includes('field') && /WithField has no static handle and WithField\.prototype has no handle/.test(w)), warnings.join('\n'));
  inst.detach();
  assert.equal(Object.prototype.hasOwnProperty.call(ProxyCallback.prototype, '_process_data'), true);
  assert.equal(new ProxyCallback()._process_data(2), 4);
});

test('graphite notifier: one "label value now" line per call as Tach, over a connection the server keeps open; no false send failures', async (t) => {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts);
    });
    s.on('error', () => undefined);
    // like carbon: the connection stays open, the server never answers
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  const { logger, warnings } = capture();
  const errorsBefore = instrumentMetrics.counter('instrument_notify_errors', { notifier: 'g' }).value;
  const n = createNotifier({ name: 'g', driver: 'graphite', host: '127.0.0.1', port, prefix: '', flushIntervalMs: 100, maxPacketSize: 512, url: '' }, logger);
  const before = Math.floor(Date.now() / 1000);
  n.count('nova.api.servers.create.POST', 1);
  n.count('nova.api.servers.create.POST', 1);
  n.count('nova.api.servers.create.POST', 1);
  n.timing('nova.compute.run_instance', 1500);
  n.timing('nova.compute.run_instance', 250);
  await n.flush();
  n.count('nova.api.servers.create.POST', 1);
  await n.flush();
  const deadline = Date.now() + 5000;
  while (lines.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // a later flush, well after the first: the kept connection still works, no timeout warnings
  await new Promise((r) => setTimeout(r, 300));
  n.count('late', 2);
  await n.flush();
  while (lines.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await n.close();
  const after = Math.floor(Date.now() / 1000);
  const parsed = lines.map((l) => l.split(' '));
  for (const p of parsed) {
    assert.equal(p.length, 3);
    assert.ok(Number(p[2]) >= before && Number(p[2]) <= after);
  }
  assert.deepEqual(parsed.map((p) => `${p[0]} ${p[1]}`), [
    'nova.compute.run_instance 1.5',
    'nova.compute.run_instance 0.25',
    'nova.api.servers.create.POST 1',
    'nova.api.servers.create.POST 1',
    'nova.api.servers.create.POST 1',
    'nova.api.servers.create.POST 1',
    'late 2',
  ]);
  assert.equal(connections, 1, 'one kept connection');
  assert.deepEqual(warnings, []);
  assert.equal(instrumentMetrics.counter('instrument_notify_errors', { notifier: 'g' }).value, errorsBefore);
});

test('graphite notifier: a server that is down is a send failure, counted and warned', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  const { logger, warnings } = capture();
  const before = instrumentMetrics.counter('instrument_notify_errors', { notifier: 'down' }).value;
  const n = createNotifier({ name: 'down', driver: 'graphite', host: '127.0.0.1', port, prefix: '', flushIntervalMs: 60_000, maxPacketSize: 512, url: '' }, logger);
  n.count('x', 1);
  await n.close();
  assert.equal(instrumentMetrics.counter('instrument_notify_errors', { notifier: 'down' }).value, before + 1);
  assert.ok(warnings.some((w) => w.startsWith('graphite send failed')), warnings.join('\n'));
});

test('graphite notifier to a real carbon-cache: what Tach sent lands in whisper', { skip: missingServer('carbon-cache', 'graphite-carbon') || missingServer('whisper-fetch', 'python3-whisper'), timeout: 60_000 }, async (t) => {
  const carbon = await startCarbon();
  t.after(() => carbon.stop());
  const { logger, warnings } = capture();
  const n = createNotifier({ name: 'carbon', driver: 'graphite', host: '127.0.0.1', port: carbon.ports['line'] as number, prefix: 'tach', flushIntervalMs: 100, maxPacketSize: 512, url: '' }, logger);
  const from = Math.floor(Date.now() / 1000) - 5;
  n.timing('nova.compute.run_instance', 2500);
  n.count('nova.api.create', 1);
  await n.flush();
  const file = (k: string) => join(carbon.dataDir, ...k.split('.')) + '.wsp';
  let got: { exec: Array<[number, number]>; calls: Array<[number, number]> } = { exec: [], calls: [] };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(file('tach.nova.compute.run_instance')) && existsSync(file('tach.nova.api.create'))) {
      got = { exec: whisperFetch(file('tach.nova.compute.run_instance'), from), calls: whisperFetch(file('tach.nova.api.create'), from) };
      if (got.exec.length > 0 && got.calls.length > 0) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await n.close();
  assert.deepEqual(got.exec.map(([, v]) => v), [2.5]);
  assert.deepEqual(got.calls.map(([, v]) => v), [1]);
  assert.deepEqual(warnings, []);
});
