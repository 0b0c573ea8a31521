import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import redis from '../../src/inputs/redis.js';
import { missingServer } from '../helpers/servers.js';
import { redisCli, startRedis, type RedisServer } from '../helpers/status-servers.js';
import { linesWith, pick, rateProcessor, runInput, silentServer } from '../helpers/service-input.js';

const skip = missingServer('redis-server', 'redis-server');

/** Runs commands through one redis-cli process (one per line). */
function load(port: number, lines: readonly string[], auth: readonly string[] = []): void {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...auth], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(r.stderr);
}

/** `field:value` of the server's own INFO section. */
function info(port: number, section: string, auth: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of redisCli(port, ['INFO', section], auth).split(/\r?\n/)) {
    const i = l.indexOf(':');
    if (i > 0) out.set(l.slice(0, i), l.slice(i + 1));
  }
  return out;
}

describe('redis input against redis-server', { skip }, () => {
  let srv: RedisServer;
  const pw = ['-a', 's3cret'];
  before(async () => {
    srv = await startRedis({ password: 's3cret', unixSocket: true, aclUser: { name: 'monitor', password: 'm0n', infoOnly: true } });
  });
  after(async () => {
    await srv?.stop();
  });

  test('TCP and unix socket with a password: keyspace and command counters match the server', async () => {
    const cmds: string[] = [];
    for (let i = 0; i < 50; i++) cmds.push(`SET key:${i} ${i}`);
    cmds.push('SELECT 2');
    for (let i = 0; i < 7; i++) cmds.push(`SET other:${i} x EX 600`);
    cmds.push('SELECT 0');
    for (let i = 0; i < 10; i++) cmds.push(`GET key:${i}`, `GET missing:${i}`);
    load(srv.port, cmds, pw);

    const run = runInput(redis, { servers: [`127.0.0.1:${srv.port}`, `unix://${srv.socket}`], password: 's3cret' });
    try {
      const pts = await run.gather();
      const stats = info(srv.port, 'stats', pw);
      const commands = info(srv.port, 'commandstats', pw);
      for (const server of [`127.0.0.1:${srv.port}`, srv.socket]) {
        const t = { server };
        assert.equal(pick(pts, 'redis.up', t)?.value, 1, server);
        assert.equal(pick(pts, 'redis.keyspace.keys', { ...t, db: '0' })?.value, 50);
        assert.equal(pick(pts, 'redis.keyspace.keys', { ...t, db: '2' })?.value, 7);
        assert.equal(pick(pts, 'redis.keyspace.expires', { ...t, db: '2' })?.value, 7);
        // INFO does not touch these, so the server's own numbers afterwards are the same
        assert.equal(pick(pts, 'redis.keyspace_hits', t)?.value, Number(stats.get('keyspace_hits')));
        assert.equal(pick(pts, 'redis.keyspace_misses', t)?.value, Number(stats.get('keyspace_misses')));
        assert.equal(pick(pts, 'redis.keyspace_hits', t)?.value, 10);
        assert.equal(pick(pts, 'redis.keyspace_hits', t)?.kind, 'counter');
        assert.equal(pick(pts, 'redis.cmdstat.calls', { ...t, command: 'set' })?.value, 57);
        assert.match(commands.get('cmdstat_set') ?? '', /^calls=57,/);
        assert.equal(pick(pts, 'redis.cmdstat.calls', { ...t, command: 'get' })?.value, 20);
        assert.ok((pick(pts, 'redis.used_memory', t)?.value ?? 0) > 0);
        assert.ok(pick(pts, 'redis.latency_usec', { ...t, command: 'get', quantile: '0.99' }));
      }
      assert.deepEqual(run.logs, []);
      assert.equal(run.self('server_polls'), 2);
    } finally {
      run.cleanup();
    }
  });

  test('an ACL user (AUTH user pass) with only +info works', async () => {
    const run = runInput(redis, { servers: [`redis://monitor:m0n@127.0.0.1:${srv.port}`] });
    try {
      const pts = await run.gather();
      assert.equal(pick(pts, 'redis.up')?.value, 1);
      assert.equal(pick(pts, 'redis.up')?.tags['server'], `127.0.0.1:${srv.port}`, 'credentials never reach the tag');
      assert.ok(pick(pts, 'redis.connected_clients'));
    } finally {
      run.cleanup();
    }
  });

  test('wrong password and no password: auth_failed, counted every time, logged once', async () => {
    const run = runInput(redis, { servers: [`127.0.0.1:${srv.port}`], username: 'monitor', password: 'nope' });
    const none = runInput(redis, { servers: [`127.0.0.1:${srv.port}`] });
    try {
      for (let i = 0; i < 3; i++) {
        const pts = await run.gather();
        assert.deepEqual(pts.map((p) => [p.name, p.value]), [['redis.up', 0]]);
      }
      assert.equal(run.self('errors{reason=auth_failed}'), 3);
      const lines = linesWith(run.logs, 'WARN', 'redis server refused the credentials', `server=127.0.0.1:${srv.port}`, 'reason=auth_failed');
      assert.equal(lines.length, 1, run.logs.join('\n'));
      assert.match(lines[0] ?? '', /WRONGPASS.*user monitor/);
      assert.match(run.ctx.selfMetrics.byPlugin()[0]?.lastError?.message ?? '', /WRONGPASS/);

      await none.gather();
      assert.equal(none.self('errors{reason=auth_failed}'), 1);
      assert.match(linesWith(none.logs, 'reason=auth_failed')[0] ?? '', /NOAUTH.*\(set password\)/);
    } finally {
      run.cleanup();
      none.cleanup();
    }
  });
});

describe('redis input over TLS', { skip: skip || missingServer('openssl', 'openssl') }, () => {
  let srv: RedisServer;
  before(async () => {
    srv = await startRedis({ tls: true });
  });
  after(async () => {
    await srv?.stop();
  });

  test('rediss:// with the server CA works; without it the certificate is refused', async () => {
    const ok = runInput(redis, { servers: [`rediss://127.0.0.1:${srv.ports['tls']}`], tls_ca: srv.cert });
    const bad = runInput(redis, { servers: [`127.0.0.1:${srv.ports['tls']}`], tls: true });
    try {
      const pts = await ok.gather();
      assert.equal(pick(pts, 'redis.up')?.value, 1, ok.logs.join('\n'));
      assert.ok(pick(pts, 'redis.uptime_in_seconds'));
      assert.deepEqual(ok.logs, []);
      const b = await bad.gather();
      assert.equal(pick(b, 'redis.up')?.value, 0);
      assert.equal(bad.self('errors{reason=unreachable}'), 1);
      assert.match(linesWith(bad.logs, 'redis server not reachable')[0] ?? '', /TLS: .*self[- ]signed/i);
    } finally {
      ok.cleanup();
      bad.cleanup();
    }
  });
});

test('TLS with client certificates (tls-auth-clients yes): tls_cert/tls_key are sent', { skip: skip || missingServer('openssl', 'openssl') }, async () => {
  const srv = await startRedis({ tls: true, tlsClientCerts: true });
  const withCert = runInput(redis, { servers: [`rediss://127.0.0.1:${srv.ports['tls']}`], tls_ca: srv.cert, tls_cert: srv.cert, tls_key: srv.key });
  const without = runInput(redis, { servers: [`rediss://127.0.0.1:${srv.ports['tls']}`], tls_ca: srv.cert, timeout: '2s' });
  try {
    assert.equal(pick(await withCert.gather(), 'redis.up')?.value, 1, withCert.logs.join('\n'));
    assert.equal(pick(await without.gather(), 'redis.up')?.value, 0);
    const lines = linesWith(without.logs, 'WARN', 'redis server not reachable', 'reason=unreachable');
    assert.equal(lines.length, 1, without.logs.join('\n'));
    assert.match(lines[0] ?? '', /TLS: .*certificate required/);
  } finally {
    withCert.cleanup();
    without.cleanup();
    await srv.stop();
  }
});

describe('redis input when the server goes away', { skip }, () => {
  let srv: RedisServer;
  before(async () => {
    srv = await startRedis();
  });
  after(async () => {
    await srv?.stop();
  });

  test('down: unreachable logged once; restarted: recovered, and rate skips the counter reset', async () => {
    const run = runInput(redis, { servers: [`127.0.0.1:${srv.port}`], timeout: '2s' });
    const rate = rateProcessor();
    try {
      const t0 = Date.now();
      load(srv.port, Array.from({ length: 30 }, (_, i) => `SET k${i} v`));
      const first = await run.gather(t0);
      rate.process(first, t0);
      load(srv.port, Array.from({ length: 30 }, (_, i) => `INCR n${i}`));
      const second = rate.process(await run.gather(t0 + 1000), t0 + 1000);
      const cmdRate = pick(second, 'redis.total_commands_processed');
      assert.equal(cmdRate?.kind, 'rate');
      assert.ok((cmdRate?.value ?? 0) >= 30, `rate ${cmdRate?.value}`);

      await srv.kill();
      for (let i = 2; i < 5; i++) {
        const pts = await run.gather(t0 + i * 1000);
        assert.deepEqual(pts.map((p) => [p.name, p.value]), [['redis.up', 0]]);
        rate.process(pts, t0 + i * 1000);
      }
      assert.equal(run.self('errors{reason=unreachable}'), 3);
      assert.equal(linesWith(run.logs, 'WARN', 'redis server not reachable', 'ECONNREFUSED').length, 1, run.logs.join('\n'));

      await srv.start();
      const back = await run.gather(t0 + 5000);
      assert.equal(pick(back, 'redis.up')?.value, 1);
      assert.equal(linesWith(run.logs, 'INFO', 'redis server recovered', 'after=unreachable').length, 1);
      const total = pick(back, 'redis.total_commands_processed')?.value ?? Infinity;
      assert.ok(total < (pick(first, 'redis.total_commands_processed')?.value ?? 0) + 30, 'the restarted server counts from zero');
      const afterRestart = rate.process(back, t0 + 5000);
      assert.equal(pick(afterRestart, 'redis.total_commands_processed'), undefined, 'no rate across the reset');
      assert.ok(afterRestart.every((p) => p.kind !== 'rate' || p.value >= 0), 'no negative rates');
      assert.ok(rate.resets() >= 1);
      const next = rate.process(await run.gather(t0 + 6000), t0 + 6000);
      assert.ok((pick(next, 'redis.total_commands_processed')?.value ?? -1) >= 0);
    } finally {
      run.cleanup();
      rate.cleanup();
    }
  });
});

test('a server that accepts and never answers times out, with the log line users see', async () => {
  const hung = await silentServer();
  const run = runInput(redis, { servers: [`127.0.0.1:${hung.port}`], timeout: '300ms' });
  try {
    const t = Date.now();
    const pts = await run.gather();
    assert.ok(Date.now() - t < 3000);
    assert.deepEqual(pts.map((p) => [p.name, p.value]), [['redis.up', 0]]);
    await run.gather();
    assert.equal(run.self('errors{reason=timeout}'), 2);
    const lines = linesWith(run.logs, 'WARN', 'redis server timed out', 'reason=timeout');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /no complete answer within 300 ms/);
  } finally {
    run.cleanup();
    await hung.close();
  }
});

test('an address that is not a redis server (an HTTP server) is a bad_response', async () => {
  const { createServer } = await import('node:http');
  const http = createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const port = (http.address() as { port: number }).port;
  const run = runInput(redis, { servers: [`127.0.0.1:${port}`], timeout: '2s' });
  try {
    await run.gather();
    assert.equal(run.self('errors{reason=bad_response}'), 1, run.logs.join('\n'));
    assert.equal(linesWith(run.logs, 'WARN', 'redis server gave an unexpected answer (wrong address, endpoint or database?)', 'reason=bad_response').length, 1);
  } finally {
    run.cleanup();
    http.close();
  }
});

test('a bad address fails at config time with a hint', () => {
  assert.throws(() => redis.schema.parse({ servers: ['ftp://x'] }), /unknown scheme ftp:\/\//);
  assert.throws(() => redis.schema.parse({ servers: ['unix://relative.sock'] }), /absolute path/);
});
