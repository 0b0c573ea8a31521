/** Notifiers and the outbox: payload shapes, retries with backoff, counting, exec and log notifiers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNotifier, Outbox, type Notifier } from '../../src/alerting/notifiers.js';
import { noticeOf, alertmanagerPayload, monascaPayload, type Notice } from '../../src/alerting/payloads.js';
import { compileRule, notifierSchema, ruleSchema } from '../../src/alerting/schema.js';
import type { Transition, AlertState } from '../../src/alerting/engine.js';
import { parseMonascaWebhook } from '../../src/codecs/monasca.js';
import { parseHeartbeatNotification } from '../../src/inputs/heartbeat/notification.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';

const T = 1_700_000_000_000;

function notice(state: AlertState, old: AlertState, extra: Partial<Record<string, unknown>> = {}): Notice {
  const rule = compileRule(ruleSchema.parse({ name: 'disk_full', expr: 'max(disk.used{host="*"}) over 5m > 90', group_by: ['host'], description: 'disk almost full', labels: { team: 'infra' }, ...extra }));
  const t: Transition = {
    rule,
    alert: { key: '{host=a}', group: { host: 'a' }, state, since: T, pendingSince: null, clearingSince: null, firedAt: T - 60_000, lastNotifiedAt: T, value: 97.5, lastSeen: null, lastDataAt: T },
    oldState: old,
    newState: state,
    at: T,
    repeat: false,
  };
  return noticeOf(t);
}

async function receiver(handler: (path: string, body: string, n: number) => number): Promise<{ url: string; server: Server; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      bodies.push(b);
      res.writeHead(handler(req.url ?? '', b, bodies.length));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, bodies };
}

test('Monasca payload: the webhook notifier\'s fields, accepted by the Monasca parser', () => {
  const p = monascaPayload(notice('ALARM', 'OK'), 'tenant-1');
  const parsed = parseMonascaWebhook(JSON.stringify(p));
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const n = parsed.notification;
  assert.equal(n.alarm_name, 'disk_full');
  assert.equal(n.state, 'ALARM');
  assert.equal(n.old_state, 'OK');
  assert.equal(n.alarm_timestamp, T / 1000);
  assert.equal(n.tenant_id, 'tenant-1');
  assert.equal(n.alarm_description, 'disk almost full');
  assert.deepEqual(n.metrics, [{ id: null, name: 'disk.used', dimensions: { host: 'a' } }]);
  assert.match(n.alarm_id, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
  assert.match(n.message, /OK -> ALARM.*97\.5/);
  // stable ids: the same alert has the same id in every notification
  assert.equal(monascaPayload(notice('OK', 'ALARM'), '').alarm_id, n.alarm_id);
});

test('Alertmanager payload: version 4, firing then resolved, same fingerprint', () => {
  const f = alertmanagerPayload(notice('ALARM', 'OK'), 'ops', 'http://sonde:8470/');
  assert.equal(f.version, '4');
  assert.equal(f.status, 'firing');
  assert.equal(f.receiver, 'ops');
  const a = f.alerts[0];
  assert.ok(a);
  assert.deepEqual(a.labels, { alertname: 'disk_full', severity: 'low', team: 'infra', host: 'a' });
  assert.equal(a.annotations['description'], 'disk almost full');
  assert.equal(a.startsAt, new Date(T - 60_000).toISOString());
  assert.equal(a.endsAt, '0001-01-01T00:00:00Z');
  assert.equal(a.generatorURL, 'http://sonde:8470/api/v1/alerts?rule=disk_full');
  const r = alertmanagerPayload(notice('OK', 'ALARM'), 'ops', '');
  assert.equal(r.status, 'resolved');
  assert.equal(r.alerts[0]?.endsAt, new Date(T).toISOString());
  assert.equal(r.alerts[0]?.fingerprint, a.fingerprint);
  assert.equal(r.groupKey, f.groupKey);
  const parsed = parseHeartbeatNotification(JSON.stringify(f));
  assert.deepEqual(parsed, { ok: true, format: 'alertmanager', alive: true, state: 'firing', name: 'disk_full' });
});

test('webhook: retried with doubling delays, then delivered; counted per notifier', async () => {
  const rx = await receiver((_p, _b, n) => (n <= 2 ? 503 : 200));
  const metrics = new SelfMetrics();
  const cfg = notifierSchema.parse({ name: 'hook', type: 'webhook', url: rx.url + '/x', format: 'monasca', retry_delay: '10s' });
  const ob = new Outbox(new Map([['hook', createNotifier(cfg, silentLogger, '')]]), metrics, silentLogger);
  ob.enqueue(notice('ALARM', 'OK'), ['hook'], T);
  await ob.tick(T);
  assert.equal(ob.pending[0]?.nextAt, T + 10_000);
  await ob.tick(T + 5000); // not due
  assert.equal(rx.bodies.length, 1);
  await ob.tick(T + 10_000);
  assert.equal(ob.pending[0]?.nextAt, T + 10_000 + 20_000);
  await ob.tick(T + 30_000);
  assert.equal(ob.pending.length, 0);
  assert.equal(rx.bodies.length, 3);
  const g = metrics.global();
  assert.equal(g['notifications_retried{notifier=hook}'], 2);
  assert.equal(g['notifications_sent{notifier=hook}'], 1);
  assert.equal(JSON.parse(rx.bodies[2] as string).state, 'ALARM');
  rx.server.close();
});

test('webhook: bounded attempts; a 400 is not retried', async () => {
  const rx = await receiver((p) => (p === '/bad' ? 400 : 500));
  const metrics = new SelfMetrics();
  const mk = (name: string, path: string): [string, Notifier] => [
    name,
    createNotifier(notifierSchema.parse({ name, type: 'webhook', url: rx.url + path, max_attempts: 3, retry_delay: '1s', retry_max_delay: '1500ms' }), silentLogger, ''),
  ];
  const ob = new Outbox(new Map([mk('down', '/down'), mk('bad', '/bad')]), metrics, silentLogger);
  ob.enqueue(notice('ALARM', 'OK'), ['down', 'bad'], T);
  await ob.tick(T);
  assert.equal(ob.pending.length, 1, 'the 400 is given up at once');
  await ob.tick(T + 1000);
  assert.equal(ob.pending[0]?.nextAt, T + 1000 + 1500, 'delay capped');
  await ob.tick(T + 2500);
  assert.equal(ob.pending.length, 0);
  const g = metrics.global();
  assert.equal(g['notifications_failed{notifier=down}'], 1);
  assert.equal(g['notifications_retried{notifier=down}'], 2);
  assert.equal(g['notifications_failed{notifier=bad}'], 1);
  assert.equal(g['notifications_sent{notifier=down}'], undefined);
  rx.server.close();
});

test('which changes a notifier is told about', () => {
  const n = (o: Record<string, unknown>): Notifier => createNotifier(notifierSchema.parse({ name: 'n', type: 'log', ...o }), silentLogger, '');
  const plain = n({});
  assert.equal(plain.wants(notice('ALARM', 'OK')), true);
  assert.equal(plain.wants(notice('OK', 'ALARM')), true);
  assert.equal(plain.wants(notice('OK', 'UNDETERMINED')), false);
  assert.equal(plain.wants(notice('UNDETERMINED', 'OK')), false);
  assert.equal(n({ send_resolved: false }).wants(notice('OK', 'ALARM')), false);
  assert.equal(n({ notify_undetermined: true }).wants(notice('UNDETERMINED', 'OK')), true);
});

test('exec: JSON on stdin and the state in the environment; a failing script is retried', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-exec-'));
  const out = join(dir, 'out.json');
  const script = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{require('fs').writeFileSync(${JSON.stringify(out)},JSON.stringify({stdin:JSON.parse(s),state:process.env.SONDE_ALERT_STATE,old:process.env.SONDE_ALERT_OLD_STATE,name:process.env.SONDE_ALERT_NAME,group:process.env.SONDE_ALERT_GROUP}));process.exit(process.env.SONDE_ALERT_STATE==='OK'?3:0)})`;
  const cfg = notifierSchema.parse({ name: 'x', type: 'exec', command: [process.execPath, '-e', script], format: 'monasca' });
  const ex = createNotifier(cfg, silentLogger, '');
  assert.deepEqual(await ex.send(notice('ALARM', 'OK')), { ok: true });
  const got = JSON.parse(readFileSync(out, 'utf8')) as { stdin: { alarm_name: string }; state: string; old: string; name: string; group: string };
  assert.deepEqual([got.stdin.alarm_name, got.state, got.old, got.name, got.group], ['disk_full', 'ALARM', 'OK', 'disk_full', 'host=a']);
  const r = await ex.send(notice('OK', 'ALARM'));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.retryable, true);
  const missing = createNotifier(notifierSchema.parse({ name: 'm', type: 'exec', command: [join(dir, 'nope')] }), silentLogger, '');
  const m = await missing.send(notice('ALARM', 'OK'));
  assert.equal(!m.ok && m.retryable, false);
  rmSync(dir, { recursive: true, force: true });
});

test('log notifier writes one line per change', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
  const l = createNotifier(notifierSchema.parse({ name: 'l', type: 'log' }), logger, '');
  assert.deepEqual(await l.send(notice('ALARM', 'OK')), { ok: true });
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /WARN .*alert disk_full\{host=a\} OK -> ALARM/);
});
