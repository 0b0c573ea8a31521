import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { closeUdp, openUdp } from '../../src/net/udp.js';
import { openServer, openTcp, listenTcp } from '../../src/net/listen.js';
import { parseHostPort, formatHostPort } from '../../src/net/address.js';
import { parseUdpDrops } from '../../src/net/udp.js';
import { readRequestBody, type BodyResult } from '../../src/net/body.js';
import { parseAuthFile } from '../../src/net/auth-file.js';
import { looksLikeHttp } from '../../src/net/http-server.js';
import { SondeError } from '../../src/errors.js';

test('listen addresses', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:8125'), { host: '127.0.0.1', port: 8125 });
  assert.deepEqual(parseHostPort('[::1]:25826'), { host: '::1', port: 25826 });
  assert.deepEqual(parseHostPort(':2003'), { host: '0.0.0.0', port: 2003 });
  assert.deepEqual(parseHostPort('4242'), { host: '127.0.0.1', port: 4242 });
  assert.ok('error' in parseHostPort('::1:80'));
  assert.ok('error' in parseHostPort('host:99999'));
  assert.ok('error' in parseHostPort('nohost'));
  assert.equal(formatHostPort({ host: '::1', port: 1 }), '[::1]:1');
});

test('a TCP port in use fails with SONDE_ERR_LISTEN naming the key', async () => {
  const a = await listenTcp({ host: '127.0.0.1', port: 0 }, 'listen', (s) => s.destroy());
  const port = (a.address() as { port: number }).port;
  await assert.rejects(listenTcp({ host: '127.0.0.1', port }, 'pickle', () => {}), (e: unknown) => {
    assert.ok(e instanceof SondeError);
    assert.equal(e.code, 'SONDE_ERR_LISTEN');
    assert.match(e.message, new RegExp(`tcp 127\\.0\\.0\\.1:${port} \\(pickle\\)`));
    assert.match(e.hint ?? '', /pickle/);
    return true;
  });
  a.close();
});

test('openTcp, openUdp and openServer report the port the OS picked and the banner address', async () => {
  const t = await openTcp('127.0.0.1:0', 'listen', (s) => s.destroy());
  const u = await openUdp('127.0.0.1:0', 'udp', () => {});
  const h = await openServer(createServer(), '[::1]:0', 'http_listen').catch(() => undefined);
  try {
    assert.ok(t.port !== undefined && t.port > 0);
    assert.equal(t.where, `127.0.0.1:${t.port}`);
    assert.equal(t.port, (t.server.address() as { port: number }).port);
    assert.ok(u.port !== undefined && u.port > 0);
    assert.equal(u.where, `127.0.0.1:${u.port}`);
    // ::1 may be missing (IPv6 disabled): then only the IPv4 listeners are checked
    if (h) assert.equal(h.where, `[::1]:${h.port}`);
    await assert.rejects(openTcp('nohost', 'pickle', () => {}), (e: unknown) => e instanceof SondeError && e.code === 'SONDE_ERR_LISTEN' && e.message.startsWith('pickle:'));
  } finally {
    t.server.close();
    h?.server.close();
    await closeUdp(u.server);
  }
});

test('UDP drops are summed by local port from /proc/net/udp', () => {
  const table = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  1: 0100007F:1FBD 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 1 2 0000000000000000 17',
    '  2: 00000000:1FBD 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 2 2 0000000000000000 3',
    '  3: 0100007F:0035 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 3 2 0000000000000000 99',
  ].join('\n');
  assert.equal(parseUdpDrops(table, 8125), 20);
  assert.equal(parseUdpDrops(table, 1), undefined);
});

test('request bodies: gzip decoded, decoded size capped, bad gzip is 400', async () => {
  let result: BodyResult | undefined;
  const srv = createServer((req, res) => {
    void readRequestBody(req, 100).then((r) => {
      result = r;
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const post = (body: Buffer, headers: Record<string, string> = {}): Promise<BodyResult | undefined> =>
    new Promise((resolve) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(result));
      });
      req.on('error', () => resolve(result));
      req.end(body);
    });
  try {
    let r = await post(gzipSync('hello'), { 'content-encoding': 'gzip' });
    assert.ok(r?.ok && r.body.toString() === 'hello');
    r = await post(gzipSync('x'.repeat(1000)), { 'content-encoding': 'gzip' });
    assert.ok(r && !r.ok && r.status === 413);
    r = await post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    assert.ok(r && !r.ok && r.status === 400);
    r = await post(Buffer.from('x'), { 'content-encoding': 'br' });
    assert.ok(r && !r.ok && r.status === 415);
  } finally {
    srv.close();
  }
});

test('auth files and HTTP sniffing', () => {
  const a = parseAuthFile('# c\nalice: s3cret\n\nbroken line\nbob:pw : x\n');
  assert.deepEqual([...a.users], [['alice', 's3cret'], ['bob', 'pw : x']]);
  assert.deepEqual(a.badLines, [4]);
  assert.equal(looksLikeHttp(Buffer.from('POST /api/put HTTP/1.1')), true);
  assert.equal(looksLikeHttp(Buffer.from('put a 1 2 x=y')), false);
});
