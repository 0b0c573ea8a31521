import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { asServiceError, exchange, httpGet, parseAddress, ServiceError, urlKey, urlLabel } from '../../src/net/service-client.js';

const REDIS = { plain: ['redis'], tls: ['rediss'] };

test('addresses as users write them, and the server tag each gives', () => {
  assert.deepEqual(parseAddress('10.0.0.1', 6379), { kind: 'tcp', host: '10.0.0.1', port: 6379, tls: false, label: '10.0.0.1:6379' });
  assert.deepEqual(parseAddress('cache:7000', 6379), { kind: 'tcp', host: 'cache', port: 7000, tls: false, label: 'cache:7000' });
  assert.deepEqual(parseAddress('[::1]:6380', 6379), { kind: 'tcp', host: '::1', port: 6380, tls: false, label: '[::1]:6380' });
  assert.deepEqual(parseAddress('tls://h:1', 6379), { kind: 'tcp', host: 'h', port: 1, tls: true, label: 'h:1' });
  assert.deepEqual(parseAddress('rediss://mon:p%40ss@h', 6379, REDIS), { kind: 'tcp', host: 'h', port: 6379, tls: true, username: 'mon', password: 'p@ss', label: 'h:6379' });
  assert.deepEqual(parseAddress('redis://:secret@h:6379', 6379, REDIS), { kind: 'tcp', host: 'h', port: 6379, tls: false, password: 'secret', label: 'h:6379' });
  assert.deepEqual(parseAddress('unix:///run/redis/redis.sock', 6379), { kind: 'unix', path: '/run/redis/redis.sock', label: '/run/redis/redis.sock' });
  assert.deepEqual(parseAddress('/run/x.sock', 0), { kind: 'unix', path: '/run/x.sock', label: '/run/x.sock' });
  assert.throws(() => parseAddress('redis://h', 6379), /unknown scheme redis:\/\//, 'redis:// only where the plugin allows it');
  assert.throws(() => parseAddress('unix://x.sock', 0), /absolute path/);
  const u = new URL('https://mon:pw@edge:8443/nginx_status?x=1');
  assert.equal(urlLabel(u), 'edge:8443');
  assert.equal(urlLabel(new URL('http://edge/s')), 'edge:80');
  assert.equal(urlKey(u), 'https://edge:8443/nginx_status?x=1', 'no credentials in logs');
});

test('errors are classified by their code', () => {
  const e = (code: string): Error => Object.assign(new Error('x'), { code });
  assert.equal(asServiceError(e('ECONNREFUSED')).reason, 'unreachable');
  assert.equal(asServiceError(e('ENOENT')).reason, 'unreachable');
  assert.equal(asServiceError(e('ETIMEDOUT')).reason, 'timeout');
  assert.match(asServiceError(e('DEPTH_ZERO_SELF_SIGNED_CERT')).message, /^TLS: /);
  assert.equal(asServiceError(new AggregateError([e('ECONNREFUSED')], '')).reason, 'unreachable');
  const s = new ServiceError('auth_failed', 'no');
  assert.equal(asServiceError(s), s);
});

test('exchange: an answer over maxBytes, and a close before the answer is complete, are bad_response', async () => {
  const srv = createServer((s) => {
    s.on('data', (d) => {
      if (d.toString() === 'big') s.end(Buffer.alloc(5000));
      else s.end('par');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = parseAddress(`127.0.0.1:${(srv.address() as { port: number }).port}`, 0);
  try {
    await assert.rejects(exchange(addr, { timeoutMs: 2000, request: 'big', maxBytes: 1000 }), (e: ServiceError) => e.reason === 'bad_response' && /larger than 1000 bytes/.test(e.message));
    await assert.rejects(exchange(addr, { timeoutMs: 2000, request: 'x', complete: (b) => b.toString() === 'partial' }), (e: ServiceError) => e.reason === 'bad_response' && /middle of its answer/.test(e.message));
    assert.equal((await exchange(addr, { timeoutMs: 2000, request: 'x' })).toString(), 'par', 'without complete, the answer ends at close');
  } finally {
    srv.close();
  }
});

test('httpGet: status codes are returned, bodies are capped, basic auth is sent', async () => {
  let auth = '';
  const srv = createHttpServer((req, res) => {
    auth = String(req.headers.authorization ?? '');
    if (req.url === '/big') res.end(Buffer.alloc(5000));
    else res.writeHead(404).end('nope');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    const r = await httpGet(new URL(base + '/x'), { timeoutMs: 2000, username: 'u', password: 'p' });
    assert.equal(r.status, 404);
    assert.equal(r.body, 'nope');
    assert.equal(auth, 'Basic ' + Buffer.from('u:p').toString('base64'));
    await assert.rejects(httpGet(new URL(base + '/big'), { timeoutMs: 2000, maxBytes: 1000 }), (e: ServiceError) => e.reason === 'bad_response');
  } finally {
    srv.close();
  }
});
