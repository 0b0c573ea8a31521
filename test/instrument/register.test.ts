import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const FIX = resolve('test/fixtures/instrument');
const REGISTER = resolve('src/instrument/register.ts');

function conf(handler: string, port: number): string {
  const helper = join(FIX, 'helper.cjs');
  const section = (label: string, method: string, metric: string, extra = ''): string =>
    `[${label}]\nmodule = ${handler}\nmethod = ${method}\nmetric = ${metric}\nnotifier = statsd\n${extra}\n`;
  return [
    '# written by the test',
    '[notifier:statsd]',
    'driver = tach.notifiers.StatsDNotifier',
    'host = 127.0.0.1',
    `port = ${port}`,
    'flush_interval = 100ms',
    '',
    '[global]',
    `app_helper = ${helper}`,
    '',
    section('app.request', 'Router.prototype.handle', 'tach.metrics.ExecTime', 'app = route_key'),
    section('app.handle.errors', 'Router.prototype.handle', 'errors'),
    section('app.lookup', 'Router.prototype.lookup', 'exec_time', 'post_app = lookup_key'),
    section('app.lookup.errors', 'Router.prototype.lookup', 'errors'),
    section('app.compute', 'compute', 'increment'),
    section('app.version', 'Router.version', 'Increment'),
  ].join('\n');
}

async function runFixture(handler: string, server: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-instr-'));
  const sock = createSocket('udp4');
  const timings = new Map<string, number>();
  const counts = new Map<string, number>();
  sock.on('message', (m) => {
    for (const line of m.toString().split('\n')) {
      const mm = /^([^:]+):([\d.]+)\|(ms|c)$/.exec(line);
      assert.ok(mm, `unexpected statsd line ${line}`);
      const [, key, v, type] = mm as unknown as [string, string, string, string];
      if (type === 'ms') timings.set(key, (timings.get(key) ?? 0) + 1);
      else counts.set(key, (counts.get(key) ?? 0) + Number(v));
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const confPath = join(dir, 'tach.conf');
  writeFileSync(confPath, conf(join(FIX, handler), sock.address().port));
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', REGISTER, join(FIX, server)], {
    env: { ...process.env, SONDE_INSTRUMENT: confPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errOut = '';
  child.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
  try {
    const port = await new Promise<number>((res, rej) => {
      const t = setTimeout(() => rej(new Error('fixture did not start: ' + errOut)), 10_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          res(Number(m[1]));
        }
      });
      child.on('exit', () => rej(new Error('fixture exited: ' + errOut)));
    });
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string, method = 'GET'): Promise<[number, string]> => {
      const r = await fetch(base + path, { method });
      return [r.status, await r.text()];
    };
    for (let i = 0; i < 3; i++) assert.deepEqual(await get('/orders/list'), [200, 'ok GET /orders/list']);
    assert.deepEqual(await get('/orders/list', 'POST'), [200, 'ok POST /orders/list']);
    // the error thrown inside the instrumented method still reaches the app
    for (let i = 0; i < 2; i++) assert.deepEqual(await get('/fail'), [500, 'error: kaboom']);
    for (let i = 0; i < 2; i++) assert.deepEqual(await get('/users/7'), [200, '{"id":"7"}']);
    assert.deepEqual(await get('/users/missing'), [500, 'error: no such user']);
    for (let i = 0; i < 4; i++) assert.deepEqual(await get('/compute'), [200, '55']);
    assert.deepEqual(await get('/version'), [200, '1.0']);

    const wantTimings = { 'api.orders.list.GET': 3, 'api.orders.list.POST': 1, 'api.fail.GET': 2, 'app.lookup.found': 2, 'app.lookup': 1 };
    const wantCounts = { 'app.handle.errors': 2, 'app.lookup.errors': 1, 'app.compute': 4, 'app.version': 1 };
    const same = (): boolean =>
      JSON.stringify(Object.fromEntries([...timings].sort())) === JSON.stringify(Object.fromEntries(Object.entries(wantTimings).sort())) &&
      JSON.stringify(Object.fromEntries([...counts].sort())) === JSON.stringify(Object.fromEntries(Object.entries(wantCounts).sort()));
    const deadline = Date.now() + 5000;
    while (!same() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(Object.fromEntries(timings), wantTimings, errOut);
    assert.deepEqual(Object.fromEntries(counts), wantCounts, errOut);
    assert.equal(errOut.trim(), '', 'no warnings');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    sock.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('CommonJS app: methods patched via require, metric names and counts arrive at statsd', () => runFixture('cjs/handler.cjs', 'cjs/server.cjs'));

test('ES module app: methods patched via import, metric names and counts arrive at statsd', () => runFixture('esm/handler.mjs', 'esm/server.mjs'));

test('a bad config stops the app before it starts, with file:line and a hint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-instr-'));
  const confPath = join(dir, 'bad.conf');
  writeFileSync(confPath, '[x]\nmodule = ./nope.js\nmethod = a.b\nmetric = speed\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', REGISTER, '-e', 'console.log("app ran")'], {
    env: { ...process.env, SONDE_INSTRUMENT: confPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 2);
  assert.doesNotMatch(out, /app ran/);
  assert.match(out, /bad\.conf:2: x\.module: module file "\.\/nope\.js" not found/);
  assert.match(out, /bad\.conf:4: x\.metric: unknown metric "speed"/);
  assert.match(out, /hint: /);
});
