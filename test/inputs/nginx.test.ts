import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nginx from '../../src/inputs/nginx.js';
import { missingServer } from '../helpers/servers.js';
import { startNginx, type NginxServer } from '../helpers/status-servers.js';
import { assertTimesOut, linesWith, pick, rateProcessor, runInput } from '../helpers/service-input.js';

const skip = missingServer('nginx', 'nginx-light');

/** The server's own stub_status numbers. */
async function own(url: string): Promise<{ active: number; accepts: number; handled: number; requests: number }> {
  const text = await (await fetch(url)).text();
  const m = /Active connections:\s*(\d+)[\s\S]*?\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  assert.ok(m, text);
  return { active: Number(m[1]), accepts: Number(m[2]), handled: Number(m[3]), requests: Number(m[4]) };
}

async function requests(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal(await (await fetch(url)).text(), 'ok\n');
}

describe('nginx input against nginx', { skip }, () => {
  let srv: NginxServer;
  before(async () => {
    srv = await startNginx();
  });
  after(async () => {
    await srv?.stop();
  });

  test('requests and connections match what stub_status itself reports', async () => {
    const before = await own(srv.statusUrl);
    await requests(srv.url + '/', 25);
    const run = runInput(nginx, { urls: [srv.statusUrl] });
    try {
      const pts = await run.gather();
      const t = { server: `127.0.0.1:${srv.port}` };
      const got = pick(pts, 'nginx.requests', t);
      assert.equal(got?.kind, 'counter');
      // 25 requests and the gather's own since `before` was read
      assert.equal(got?.value, before.requests + 26);
      const after = await own(srv.statusUrl);
      assert.equal(after.requests, (got?.value ?? 0) + 1);
      assert.ok((pick(pts, 'nginx.accepts', t)?.value ?? 0) <= after.accepts);
      assert.equal(pick(pts, 'nginx.accepts', t)?.value, pick(pts, 'nginx.handled', t)?.value);
      assert.ok((pick(pts, 'nginx.writing', t)?.value ?? 0) >= 1, 'the status request itself is being written');
      assert.equal(pick(pts, 'nginx.active', t)?.kind, 'gauge');
      assert.equal(pick(pts, 'nginx.up', t)?.value, 1);
      assert.deepEqual(run.logs, []);
    } finally {
      run.cleanup();
    }
  });

  test('basic auth: the right password works; a wrong one is auth_failed (HTTP 401), logged once', async () => {
    const ok = runInput(nginx, { urls: [srv.url + '/secure'], username: 'monitor', password: 'm0n' });
    const bad = runInput(nginx, { urls: [srv.url + '/secure'], username: 'monitor', password: 'wrong' });
    try {
      assert.ok(pick(await ok.gather(), 'nginx.requests'));
      await bad.gather();
      await bad.gather();
      assert.equal(bad.self('errors{reason=auth_failed}'), 2);
      const lines = linesWith(bad.logs, 'WARN', 'nginx server refused the credentials', `server=${srv.url}/secure`);
      assert.equal(lines.length, 1, bad.logs.join('\n'));
      assert.match(lines[0] ?? '', /HTTP 401/);
    } finally {
      ok.cleanup();
      bad.cleanup();
    }
  });

  test('a wrong endpoint (another page, a 404) is bad_response with a hint', async () => {
    const run = runInput(nginx, { urls: [srv.url + '/', srv.url + '/status_typo'] });
    try {
      const pts = await run.gather();
      assert.deepEqual(pts.map((p) => [p.name, p.value]), [['nginx.up', 0], ['nginx.up', 0]]);
      assert.equal(run.self('errors{reason=bad_response}'), 2);
      assert.match(linesWith(run.logs, `server=${srv.url}/ `)[0] ?? '', /not an nginx stub_status page.*a location with stub_status/);
      assert.match(linesWith(run.logs, '/status_typo')[0] ?? '', /HTTP 404/);
    } finally {
      run.cleanup();
    }
  });

  test('down, then restarted: unreachable logged once, recovered, rate skips the reset', async () => {
    const s = await startNginx();
    const run = runInput(nginx, { urls: [s.statusUrl], timeout: '2s' });
    const rate = rateProcessor();
    try {
      const t0 = Date.now();
      await requests(s.url + '/', 30);
      rate.process(await run.gather(t0), t0);
      await requests(s.url + '/', 10);
      const r1 = rate.process(await run.gather(t0 + 1000), t0 + 1000);
      assert.equal(pick(r1, 'nginx.requests')?.value, 11, '10 requests and one gather in a second');
      await s.kill();
      for (let i = 2; i < 4; i++) assert.equal(pick(await run.gather(t0 + i * 1000), 'nginx.up')?.value, 0);
      assert.equal(run.self('errors{reason=unreachable}'), 2);
      assert.equal(linesWith(run.logs, 'WARN', 'nginx server not reachable', 'ECONNREFUSED').length, 1);
      await s.start();
      const back = rate.process(await run.gather(t0 + 4000), t0 + 4000);
      assert.equal(pick(back, 'nginx.up')?.value, 1);
      assert.equal(pick(back, 'nginx.requests'), undefined, 'counter reset: no rate');
      assert.ok(rate.resets() >= 1);
      assert.equal(linesWith(run.logs, 'INFO', 'nginx server recovered').length, 1);
      assert.ok((pick(rate.process(await run.gather(t0 + 5000), t0 + 5000), 'nginx.requests')?.value ?? -1) >= 1);
    } finally {
      run.cleanup();
      rate.cleanup();
      await s.stop();
    }
  });
});

test('https: verified with tls_ca; refused without it', { skip: skip || missingServer('openssl', 'openssl') }, async () => {
  const s = await startNginx({ tls: true });
  const ok = runInput(nginx, { urls: [s.httpsUrl], tls_ca: s.cert });
  const bad = runInput(nginx, { urls: [s.httpsUrl] });
  try {
    const pts = await ok.gather();
    assert.equal(pick(pts, 'nginx.up')?.value, 1, ok.logs.join('\n'));
    assert.ok((pick(pts, 'nginx.requests')?.value ?? 0) >= 1);
    assert.equal(pick(pts, 'nginx.up')?.tags['server'], s.httpsUrl.replace('https://', '').replace('/status', ''));
    assert.equal(pick(await bad.gather(), 'nginx.up')?.value, 0);
    assert.match(linesWith(bad.logs, 'nginx server not reachable')[0] ?? '', /TLS: .*self[- ]signed/i);
  } finally {
    ok.cleanup();
    bad.cleanup();
    await s.stop();
  }
});

test('a server that accepts and never answers times out', () =>
  assertTimesOut(nginx, (port) => ({ urls: [`http://127.0.0.1:${port}/nginx_status`], timeout: '300ms' }), 'nginx.up', ['nginx server timed out'], /no answer within 300 ms/));
