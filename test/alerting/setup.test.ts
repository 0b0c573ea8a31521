/** `sonde heartbeat setup`: printed/written backend configs, and the Monasca API path against a local server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heartbeatCommand, monascaExpression, DEFAULT_SETUP } from '../../src/cli/heartbeat.js';
import { SondeError } from '../../src/errors.js';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await heartbeatCommand(argv, (s) => (out += s));
  return { code, out };
}

test('prometheus: rule file and Alertmanager receiver, printed and written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-setup-'));
  const { code, out } = await run(['setup', '--backend', 'prometheus', '--webhook-url', 'http://10.0.0.5:8470/heartbeat', '--probe', 'edge', '--write-dir', dir]);
  assert.equal(code, 0);
  const rules = readFileSync(join(dir, 'sonde-heartbeat.rules.yml'), 'utf8');
  assert.match(rules, /^groups:\n {2}- name: sonde-heartbeat\n {4}rules:\n {6}- alert: SondeHeartbeat\n {8}expr: count_over_time\(sonde_heartbeat\{probe="edge"\}\[1m\]\) > 0$/m);
  const amc = readFileSync(join(dir, 'alertmanager-sonde-heartbeat.yml'), 'utf8');
  assert.match(amc, /webhook_configs:\n {6}- url: "http:\/\/10\.0\.0\.5:8470\/heartbeat"/);
  assert.match(amc, /matchers: \['alertname="SondeHeartbeat"'\]/);
  assert.ok(out.includes(rules) && out.includes(amc));
  assert.match(out, /expect_within = "4m"/);
  rmSync(dir, { recursive: true, force: true });
});

test('alertmanager alone, monasca commands, usage errors', async () => {
  const a = await run(['setup', '--backend', 'alertmanager', '--repeat-interval', '30s']);
  assert.equal(a.code, 0);
  assert.doesNotMatch(a.out, /groups:/);
  assert.match(a.out, /repeat_interval: 30s/);
  const m = await run(['setup', '--backend', 'monasca', '--interval', '1s']);
  assert.match(m.out, /monasca notification-create sonde_heartbeat_default WEBHOOK http:\/\/127\.0\.0\.1:8470\/heartbeat/);
  assert.match(m.out, /monasca alarm-definition-create sonde_heartbeat_default 'sum\(sonde\.heartbeat\{probe=default\}\) >= 48'/);
  assert.equal(monascaExpression({ ...DEFAULT_SETUP, interval: 10_000 }), 'sum(sonde.heartbeat{probe=default}) >= 5');
  assert.equal((await run([])).code, 2);
  await assert.rejects(run(['setup', '--backend', 'nagios']), (e: unknown) => e instanceof SondeError && /--backend/.test(e.message));
  await assert.rejects(run(['setup', '--backend', 'monasca', '--monasca-url', 'http://x']), /needs --token/);
});

test('monasca: creates the notification method, then the alarm definition using its id', async () => {
  const calls: Array<{ method: string; url: string; token: string | undefined; type: string | undefined; body: Record<string, unknown> }> = [];
  let failDefinitions = false;
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(b) as Record<string, unknown>;
      calls.push({ method: req.method ?? '', url: req.url ?? '', token: req.headers['x-auth-token'] as string | undefined, type: req.headers['content-type'], body });
      if (req.url === '/v2.0/notification-methods') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: '35cc6f1c-3a29-49fb-a6fc-d9d97d190508', ...body }));
      } else if (req.url === '/v2.0/alarm-definitions' && !failDefinitions) {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'f9935bcc-9641-4cbf-8224-0993a947ea83', ...body }));
      } else {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end('{"unprocessable_entity":{"code":422,"message":"bad expression"}}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    const { code, out } = await run(['setup', '--backend', 'monasca', '--monasca-url', url, '--token', 'tok', '--webhook-url', 'http://sonde:8470/heartbeat']);
    assert.equal(code, 0);
    assert.match(out, /created notification method 35cc6f1c-.* and alarm definition f9935bcc-/);
    assert.equal(calls.length, 2);
    const [n, d] = calls;
    assert.deepEqual([n?.method, n?.url, n?.token, n?.type], ['POST', '/v2.0/notification-methods', 'tok', 'application/json']);
    assert.deepEqual(n?.body, { name: 'sonde_heartbeat_default', type: 'WEBHOOK', address: 'http://sonde:8470/heartbeat', period: 0 });
    assert.equal(d?.url, '/v2.0/alarm-definitions');
    assert.equal(d?.body['expression'], 'sum(sonde.heartbeat{probe=default}) >= 5');
    assert.deepEqual(d?.body['alarm_actions'], ['35cc6f1c-3a29-49fb-a6fc-d9d97d190508']);
    assert.deepEqual(d?.body['ok_actions'], ['35cc6f1c-3a29-49fb-a6fc-d9d97d190508']);
    assert.equal(d?.body['severity'], 'LOW');
    failDefinitions = true;
    await assert.rejects(run(['setup', '--backend', 'monasca', '--monasca-url', url, '--token', 'tok']), /HTTP 422.*bad expression/);
  } finally {
    server.close();
  }
});
