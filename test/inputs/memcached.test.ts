import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import memcached from '../../src/inputs/memcached.js';
import { missingServer } from '../helpers/servers.js';
import { startMemcached, type MemcachedServer } from '../helpers/status-servers.js';
import { linesWith, pick, rateProcessor, runInput, silentServer } from '../helpers/service-input.js';

const skip = missingServer('memcached', 'memcached');

/** Sends text-protocol commands, then `quit`; resolves with everything the server answered. */
function send(target: number | string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : connect({ path: target });
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('memcached did not answer')));
    s.write(text + 'quit\r\n');
  });
}

/** The server's own `stats` as a map. */
async function serverStats(target: number | string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const l of (await send(target, 'stats\r\n')).split('\r\n')) {
    const p = /^STAT (\S+) (\S+)$/.exec(l);
    if (p) m.set(p[1] as string, p[2] as string);
  }
  return m;
}

function knownLoad(): string {
  let t = '';
  for (let i = 0; i < 40; i++) t += `set key${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
  for (let i = 0; i < 25; i++) t += `get key${i < 20 ? i : 'missing' + i}\r\n`;
  t += 'set big 0 0 3000\r\n' + 'x'.repeat(3000) + '\r\n';
  return t;
}

describe('memcached input against memcached', { skip }, () => {
  let tcp: MemcachedServer;
  let unix: MemcachedServer;
  before(async () => {
    [tcp, unix] = await Promise.all([startMemcached(), startMemcached({ unix: true })]);
  });
  after(async () => {
    await Promise.all([tcp?.stop(), unix?.stop()]);
  });

  test('TCP and unix socket, stats and stats slabs: counters match the server', async () => {
    await send(tcp.port, knownLoad());
    await send(unix.socket, knownLoad());
    const run = runInput(memcached, { servers: [`127.0.0.1:${tcp.port}`, `unix://${unix.socket}`], slabs: true });
    try {
      const pts = await run.gather();
      for (const [target, server] of [[tcp.port, `127.0.0.1:${tcp.port}`], [unix.socket, unix.socket]] as const) {
        const own = await serverStats(target);
        const t = { server };
        assert.equal(pick(pts, 'memcached.up', t)?.value, 1);
        assert.equal(pick(pts, 'memcached.get_hits', t)?.value, 20);
        assert.equal(pick(pts, 'memcached.get_misses', t)?.value, 5);
        assert.equal(pick(pts, 'memcached.cmd_set', t)?.value, 41);
        assert.equal(pick(pts, 'memcached.curr_items', t)?.value, 41);
        for (const f of ['get_hits', 'get_misses', 'cmd_get', 'cmd_set', 'curr_items', 'total_items', 'bytes']) {
          assert.equal(pick(pts, 'memcached.' + f, t)?.value, Number(own.get(f)), f);
        }
        assert.equal(pick(pts, 'memcached.get_hits', t)?.kind, 'counter');
        assert.equal(pick(pts, 'memcached.bytes', t)?.kind, 'gauge');
        // the 3000-byte item lives in a bigger slab class than the small ones
        const used = pts.filter((p) => p.name === 'memcached.slab.used_chunks' && p.tags['server'] === server && p.value > 0);
        assert.ok(used.length >= 2, JSON.stringify(used));
        assert.equal(used.reduce((a, p) => a + p.value, 0), 41);
        assert.ok(pick(pts, 'memcached.total_malloced', t));
      }
      assert.deepEqual(run.logs, []);
    } finally {
      run.cleanup();
    }
  });

  test('down, then restarted: logged once, recovered, rate skips the reset', async () => {
    const srv = await startMemcached();
    const run = runInput(memcached, { servers: [`127.0.0.1:${srv.port}`], timeout: '2s' });
    const rate = rateProcessor();
    try {
      const t0 = Date.now();
      await send(srv.port, knownLoad());
      rate.process(await run.gather(t0), t0);
      await send(srv.port, knownLoad());
      const r1 = rate.process(await run.gather(t0 + 1000), t0 + 1000);
      assert.equal(pick(r1, 'memcached.get_hits')?.value, 20, '20 hits in one second');
      await srv.kill();
      for (let i = 2; i < 4; i++) assert.equal(pick(rate.process(await run.gather(t0 + i * 1000), t0 + i * 1000), 'memcached.up')?.value, 0);
      assert.equal(run.self('errors{reason=unreachable}'), 2);
      assert.equal(linesWith(run.logs, 'WARN', 'memcached server not reachable', 'reason=unreachable').length, 1);
      await srv.start();
      await send(srv.port, 'get key1\r\n');
      const back = rate.process(await run.gather(t0 + 4000), t0 + 4000);
      assert.equal(pick(back, 'memcached.up')?.value, 1);
      assert.equal(pick(back, 'memcached.get_misses'), undefined, 'reset: no rate');
      assert.ok(back.every((p) => p.kind !== 'rate' || p.value >= 0));
      assert.ok(rate.resets() >= 1);
      assert.equal(linesWith(run.logs, 'memcached server recovered').length, 1);
    } finally {
      run.cleanup();
      rate.cleanup();
      await srv.stop();
    }
  });

  test('a server with authentication (-Y): the right password works; a wrong or no password is auth_failed', async () => {
    const srv = await startMemcached({ authUser: 'monitor:m0n' });
    const ok = runInput(memcached, { servers: [`127.0.0.1:${srv.port}`], username: 'monitor', password: 'm0n', slabs: true });
    const wrong = runInput(memcached, { servers: [`127.0.0.1:${srv.port}`], username: 'monitor', password: 'nope' });
    const none = runInput(memcached, { servers: [`127.0.0.1:${srv.port}`] });
    try {
      const pts = await ok.gather();
      assert.equal(pick(pts, 'memcached.up')?.value, 1, ok.logs.join('\n'));
      assert.ok(pick(pts, 'memcached.total_malloced'), 'the slabs block after stats');
      assert.equal(pick(pts, 'memcached.curr_items')?.value, 0, 'authentication stores no item');
      await wrong.gather();
      await wrong.gather();
      assert.equal(wrong.self('errors{reason=auth_failed}'), 2);
      const lines = linesWith(wrong.logs, 'memcached server refused the credentials');
      assert.equal(lines.length, 1);
      assert.match(lines[0] ?? '', /unauthenticated.*wrong username or password/);
      await none.gather();
      assert.match(linesWith(none.logs, 'reason=auth_failed')[0] ?? '', /requires authentication \(-Y\): set username and password/);
    } finally {
      ok.cleanup();
      wrong.cleanup();
      none.cleanup();
      await srv.stop();
    }
  });
});

test('a hung server times out; an HTTP server is a bad_response', async () => {
  const hung = await silentServer();
  const http = createServer((_q, res) => res.end('x'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  const run = runInput(memcached, { servers: [`127.0.0.1:${hung.port}`, `127.0.0.1:${httpPort}`], timeout: '300ms' });
  try {
    const pts = await run.gather();
    assert.deepEqual(pts.map((p) => p.value), [0, 0]);
    assert.equal(run.self('errors{reason=timeout}'), 1);
    assert.equal(run.self('errors{reason=bad_response}'), 1);
    assert.match(linesWith(run.logs, 'memcached server timed out')[0] ?? '', /no complete answer within 300 ms/);
    assert.match(linesWith(run.logs, 'reason=bad_response')[0] ?? '', /not a memcached stats answer.*HTTP\/1\.1 400/);
  } finally {
    run.cleanup();
    await hung.close();
    http.close();
  }
});
