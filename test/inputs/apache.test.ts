import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import apache, { autoUrl } from '../../src/inputs/apache.js';
import { missingServer } from '../helpers/servers.js';
import { startApache, type ApacheServer } from '../helpers/status-servers.js';
import { assertTimesOut, linesWith, pick, rateProcessor, runInput } from '../helpers/service-input.js';

const skip = missingServer('apache2', 'apache2');

/** `Key: value` lines of the server's own ?auto page. */
async function own(url: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const l of (await (await fetch(url + '?auto')).text()).split('\n')) {
    const i = l.indexOf(': ');
    if (i > 0) m.set(l.slice(0, i), l.slice(i + 2).trim());
  }
  return m;
}

async function download(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await (await fetch(url)).arrayBuffer()).byteLength, 100_000);
}

test('?auto is added to a URL that lacks it', () => {
  assert.equal(autoUrl('http://h/server-status').href, 'http://h/server-status?auto');
  assert.equal(autoUrl('http://h/server-status?x=1').href, 'http://h/server-status?x=1&auto');
  assert.equal(autoUrl('http://h/server-status?auto').href, 'http://h/server-status?auto');
});

describe('apache input against apache2 (mod_status)', { skip }, () => {
  let srv: ApacheServer;
  before(async () => {
    srv = await startApache();
  });
  after(async () => {
    await srv?.stop();
  });

  test('accesses, traffic and the scoreboard match what mod_status itself reports', async () => {
    const before = await own(srv.statusUrl);
    await download(srv.url + '/big.bin', 12);
    const run = runInput(apache, { urls: [srv.statusUrl] });
    try {
      const pts = await run.gather();
      const t = { server: `127.0.0.1:${srv.port}` };
      assert.equal(pick(pts, 'apache.up', t)?.value, 1);
      const accesses = pick(pts, 'apache.total_accesses', t);
      assert.equal(accesses?.kind, 'counter');
      // Apache counts a request once its response is out, so the last request before a reading may or
      // may not be in it: 12 downloads, plus the requests that read `before` and the gather, give or take
      const b = Number(before.get('Total Accesses'));
      const got = accesses?.value ?? NaN;
      assert.ok(got >= b + 12 && got <= b + 13, `gathered ${got}, the server said ${b} before 12 downloads`);
      const after = await own(srv.statusUrl);
      const a = Number(after.get('Total Accesses'));
      assert.ok(a >= got && a <= got + 2, `the server says ${a} right after the gather saw ${got}`);
      const kb = pick(pts, 'apache.total_kbytes', t)?.value ?? 0;
      assert.ok(kb >= Number(before.get('Total kBytes')) + Math.floor((12 * 100_000) / 1024), `kbytes ${kb}`);
      assert.equal(pick(pts, 'apache.busy_workers', t)?.value, Number(after.get('BusyWorkers')));
      const board = pts.filter((p) => p.name === 'apache.scoreboard');
      assert.equal(board.length, 11);
      assert.equal(board.reduce((a, p) => a + p.value, 0), (after.get('Scoreboard') ?? '').length, 'one count per slot');
      assert.ok((pick(pts, 'apache.scoreboard', { state: 'sending' })?.value ?? 0) >= 1, 'the status request is being sent');
      assert.deepEqual(run.logs, []);
    } finally {
      run.cleanup();
    }
  });

  test('basic auth: the right password works; a wrong one is auth_failed (HTTP 401), logged once', async () => {
    const ok = runInput(apache, { urls: [srv.url + '/secure-status'], username: 'monitor', password: 'm0n' });
    const bad = runInput(apache, { urls: [srv.url + '/secure-status'], username: 'monitor', password: 'wrong' });
    try {
      assert.ok(pick(await ok.gather(), 'apache.total_accesses'), ok.logs.join('\n'));
      await bad.gather();
      await bad.gather();
      assert.equal(bad.self('errors{reason=auth_failed}'), 2);
      const lines = linesWith(bad.logs, 'WARN', 'apache server refused the credentials', `server=${srv.url}/secure-status?auto`);
      assert.equal(lines.length, 1, bad.logs.join('\n'));
      assert.match(lines[0] ?? '', /HTTP 401/);
    } finally {
      ok.cleanup();
      bad.cleanup();
    }
  });

  test('a page that is not mod_status is bad_response', async () => {
    const run = runInput(apache, { urls: [srv.url + '/index.html', srv.url + '/nope'] });
    try {
      await run.gather();
      assert.equal(run.self('errors{reason=bad_response}'), 2);
      assert.match(linesWith(run.logs, 'index.html')[0] ?? '', /not Apache mod_status \?auto output.*SetHandler server-status/);
      assert.match(linesWith(run.logs, '/nope')[0] ?? '', /HTTP 404/);
    } finally {
      run.cleanup();
    }
  });

  test('down, then restarted: unreachable logged once, recovered, rate skips the reset', async () => {
    const run = runInput(apache, { urls: [srv.statusUrl], timeout: '2s' });
    const rate = rateProcessor();
    try {
      const t0 = Date.now();
      rate.process(await run.gather(t0), t0);
      await download(srv.url + '/big.bin', 3);
      const r1 = rate.process(await run.gather(t0 + 1000), t0 + 1000);
      const perSecond = pick(r1, 'apache.total_accesses')?.value ?? NaN;
      assert.ok(perSecond >= 3 && perSecond <= 5, `3 downloads and the first gather, give or take one in flight: ${perSecond}/s`);
      await srv.kill();
      for (let i = 2; i < 4; i++) assert.equal(pick(await run.gather(t0 + i * 1000), 'apache.up')?.value, 0);
      assert.equal(run.self('errors{reason=unreachable}'), 2);
      assert.equal(linesWith(run.logs, 'WARN', 'apache server not reachable', 'ECONNREFUSED').length, 1);
      await srv.start();
      const back = rate.process(await run.gather(t0 + 4000), t0 + 4000);
      assert.equal(pick(back, 'apache.up')?.value, 1);
      assert.equal(pick(back, 'apache.total_accesses'), undefined, 'counter reset: no rate');
      assert.ok(back.every((p) => p.kind !== 'rate' || p.value >= 0));
      assert.equal(linesWith(run.logs, 'INFO', 'apache server recovered').length, 1);
    } finally {
      run.cleanup();
      rate.cleanup();
    }
  });
});

test('a server that accepts and never answers times out', () =>
  assertTimesOut(apache, (port) => ({ urls: [`http://127.0.0.1:${port}/server-status`], timeout: '300ms' }), 'apache.up', ['apache server timed out', '?auto'], /no answer within 300 ms/));
