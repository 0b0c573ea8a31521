/**
 * The postgresql input against a real PostgreSQL server from the Debian package, started by the test:
 * known load (transactions, inserted rows, held connections and locks) checked against what the
 * server's own views report, custom queries, and the failures users meet: wrong password, wrong
 * database, server down, restarted mid-run (counter reset), and a hung server or slow statement.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import pg from 'pg';
import postgresql, { serverTag } from '../../src/inputs/postgresql.js';
import { missingServer } from '../helpers/servers.js';
import { POSTGRES, psql, startPostgres, type Postgres } from '../helpers/sql-servers.js';
import { assertConnectTimeout, assertDownLoggedOnce, buildService, find, rates, selfMetric, until, val, type Built } from './service-helpers.js';

const skip = existsSync(POSTGRES) ? false : missingServer('postgres', 'postgresql');
let server: Postgres;
const built: Built[] = [];
const clients: pg.Client[] = [];

before(async () => {
  if (skip) return;
  server = await startPostgres();
  psql(server, "CREATE ROLE sonde LOGIN PASSWORD 'sonde-pw'");
  psql(server, 'GRANT pg_monitor TO sonde');
  psql(server, 'CREATE DATABASE app');
  psql(server, 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)', 'app');
  psql(server, 'CREATE TABLE jobs (queue text NOT NULL, done int NOT NULL)', 'app');
  psql(server, "INSERT INTO jobs VALUES ('mail', 1), ('mail', 2), ('mail', 3), ('thumbs', 9)", 'app');
  psql(server, 'GRANT SELECT ON jobs TO sonde', 'app');
});

after(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  for (const b of built) await b.stop();
  await server?.stop();
});

function collector(config: Record<string, unknown>): Built {
  const b = buildService(postgresql, config);
  built.push(b);
  return b;
}

async function appClient(): Promise<pg.Client> {
  const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'app' });
  c.on('error', () => undefined); // the restart test drops every session
  clients.push(c);
  await c.connect();
  return c;
}

const tag = () => `127.0.0.1_${server.port}`;

test('server tag: host and port or the socket, never credentials', () => {
  assert.equal(serverTag('postgres://u:secret@db1:6432/x'), 'db1:6432');
  assert.equal(serverTag('postgresql://u@/x?host=/run/postgresql'), '/run/postgresql/.s.PGSQL.5432');
  assert.equal(serverTag('postgres://10.0.0.1/x'), '10.0.0.1:5432');
});

test('bad config fails at start: a URL that is not postgres://', () => {
  assert.throws(() => postgresql.schema.parse({ servers: ['mysql://x'] }), /connection URL/);
  assert.throws(() => postgresql.schema.parse({ query: [{ sql: 'SELECT 1', name: 'bad name!' }] }), /metric name/);
});

test('counters follow known load: transactions, inserted rows, sizes, connections, locks, custom query', { skip }, async () => {
  const p = collector({ servers: [server.url('sonde', 'sonde-pw')] });
  // the custom query runs on the configured database: point one at app
  const onApp = collector({
    servers: [server.url('sonde', 'sonde-pw', 'app')],
    collect: [],
    query: [{ sql: 'SELECT queue, count(*) AS depth, sum(done) AS done FROM jobs GROUP BY queue', name: 'jobs', tags: ['queue'], counters: ['done'] }],
  });
  const first = await p.gather();
  assert.equal(val(first, 'postgresql.up', { server: tag() }), 1);
  const before = { commit: val(first, 'postgresql.xact_commit', { db: 'app' }), inserted: val(first, 'postgresql.tup_inserted', { db: 'app' }) };
  assert.equal(find(first, 'postgresql.xact_commit', { db: 'app' })[0]?.kind, 'counter');
  assert.equal(find(first, 'postgresql.numbackends', { db: 'app' })[0]?.kind, 'gauge');
  assert.equal(find(first, 'postgresql.xact_commit', { db: 'template0' }).length, 0, 'template databases ignored by default');

  // load: 40 single-row INSERTs in autocommit, then the session ends (its stats are flushed on exit)
  const load = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'app' });
  await load.connect();
  for (let i = 0; i < 40; i++) await load.query('INSERT INTO items (name) VALUES ($1)', [`item-${i}`]);
  await load.end();

  // what the server itself reports, once the load session's statistics have been flushed
  const serverSays = () => psql(server, "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = 'app'").split('|').map(Number);
  await until('load statistics flushed', () => ((serverSays()[1] ?? 0) >= before.inserted + 40 ? true : undefined));
  const [commit, inserted] = serverSays();
  const second = await p.gather();
  assert.equal(val(second, 'postgresql.tup_inserted', { db: 'app' }), inserted);
  assert.equal(val(second, 'postgresql.xact_commit', { db: 'app' }), commit);
  assert.equal(val(second, 'postgresql.tup_inserted', { db: 'app' }) - before.inserted, 40);
  assert.ok(val(second, 'postgresql.xact_commit', { db: 'app' }) - before.commit >= 40);

  const size = Number(psql(server, "SELECT pg_database_size('app')"));
  assert.equal(val(second, 'postgresql.size_bytes', { db: 'app' }), size);
  assert.ok(val(second, 'postgresql.buffers_alloc') > 0);
  assert.equal(find(second, 'postgresql.buffers_alloc')[0]?.kind, 'counter');
  assert.equal(val(second, 'postgresql.in_recovery'), 0);
  assert.equal(val(second, 'postgresql.replicas'), 0);
  assert.equal(val(second, 'postgresql.max_connections'), 30);
  assert.ok(val(second, 'postgresql.uptime') > 0);

  // two idle sessions on app and one holding a table lock inside a transaction
  await appClient();
  await appClient();
  const locker = await appClient();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  const third = await p.gather();
  const idle = Number(psql(server, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND state = 'idle' AND backend_type = 'client backend'"));
  assert.equal(val(third, 'postgresql.connections', { db: 'app', state: 'idle' }), idle);
  assert.ok(idle >= 2);
  assert.equal(val(third, 'postgresql.connections', { db: 'app', state: 'idle_in_transaction' }), 1);
  assert.equal(val(third, 'postgresql.locks', { db: 'app', mode: 'AccessExclusiveLock', granted: 'true' }), 1);
  await locker.query('COMMIT');

  const custom = await onApp.gather();
  assert.equal(val(custom, 'postgresql.jobs.depth', { queue: 'mail' }), 3);
  assert.equal(val(custom, 'postgresql.jobs.done', { queue: 'mail' }), 6);
  assert.equal(find(custom, 'postgresql.jobs.done', { queue: 'thumbs' })[0]?.kind, 'counter');
  assert.equal(find(custom, 'postgresql.jobs.depth', { queue: 'thumbs' })[0]?.kind, 'gauge');
  assert.equal(find(custom, 'postgresql.xact_commit').length, 0, 'collect = [] runs only the custom queries');
  assert.equal(selfMetric(p.ctx, 'errors{reason=query_failed}'), 0, p.logs.join('\n'));
  assert.deepEqual(p.logs, []);
});

test('two servers in one instance; one of them down does not hide the other', { skip }, async () => {
  const p = collector({ servers: [server.url('sonde', 'sonde-pw'), 'postgres://sonde:x@127.0.0.1:1/postgres'], collect: ['bgwriter'] });
  const pts = await p.gather();
  assert.equal(val(pts, 'postgresql.up', { server: tag() }), 1);
  assert.equal(val(pts, 'postgresql.up', { server: '127.0.0.1_1' }), 0);
  assert.ok(val(pts, 'postgresql.buffers_alloc', { server: tag() }) > 0);
});

test('unix socket URL; a failing custom query is counted and logged once, the rest still reported', { skip }, async () => {
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`;
  const p = collector({ servers: [url], collect: ['bgwriter'], query: [{ sql: 'SELECT count(*) AS n FROM no_such_table', name: 'broken' }] });
  const sock = `${server.socketDir}/.s.PGSQL.${server.port}`.replace(/^\//, '');
  for (let i = 0; i < 2; i++) {
    const pts = await p.gather();
    const up = find(pts, 'postgresql.up')[0];
    assert.equal(up?.value, 1);
    assert.ok(up?.tags['server']?.endsWith(sock.split('/').pop() as string), up?.tags['server']);
    assert.ok(val(pts, 'postgresql.buffers_alloc') > 0);
  }
  assert.equal(selfMetric(p.ctx, 'errors{reason=query_failed}'), 2);
  assert.equal(p.logs.length, 1);
  assert.match(p.logs[0] ?? '', /WARN {2}postgresql query failed .*query="query broken" reason=query_failed error="relation \\"no_such_table\\" does not exist"/);
});

test('wrong password: up=0, errors{reason=auth_failed}, logged once', { skip }, async () => {
  const p = collector({ servers: [server.url('sonde', 'wrong')] });
  for (let i = 0; i < 3; i++) assert.deepEqual((await p.gather()).map((x) => [x.name, x.value]), [['postgresql.up', 0]]);
  assert.equal(selfMetric(p.ctx, 'errors{reason=auth_failed}'), 3);
  assert.equal(p.logs.length, 1);
  assert.match(p.logs[0] ?? '', /WARN {2}postgresql server refused the credentials server=127\.0\.0\.1:\d+ reason=auth_failed error="password authentication failed for user \\"sonde\\""/);
  assert.match(p.ctx.selfMetrics.byPlugin().find((s) => s.id === p.ctx.id)?.lastError?.message ?? '', /password authentication failed/);
});

test('a database that does not exist is a bad_response (the address answers, the endpoint is wrong)', { skip }, async () => {
  const p = collector({ servers: [server.url('sonde', 'sonde-pw', 'nosuchdb')] });
  await p.gather();
  assert.equal(selfMetric(p.ctx, 'errors{reason=bad_response}'), 1);
  assert.match(p.logs[0] ?? '', /database \\"nosuchdb\\" does not exist/);
});

test('server down: unreachable, counted each poll, logged once', { skip }, () =>
  assertDownLoggedOnce(collector, (port) => `postgres://sonde:x@127.0.0.1:${port}/postgres`, 'postgresql'));

test('hung server: connect_timeout bounds the poll; a slow statement hits query_timeout', { skip }, async () => {
  await assertConnectTimeout(collector, (port) => `postgres://sonde:x@127.0.0.1:${port}/postgres`, 'postgresql', 5000);
  const slow = collector({ servers: [server.url('sonde', 'sonde-pw')], collect: [], query_timeout: '300ms', query: [{ sql: 'SELECT 1 AS one FROM pg_sleep(3)', name: 'slow' }] });
  const t0 = Date.now();
  const pts = await slow.gather();
  assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);
  // the server cancelled the statement at statement_timeout: the server is up, the connection usable
  assert.equal(val(pts, 'postgresql.up'), 1);
  assert.equal(selfMetric(slow.ctx, 'errors{reason=timeout}'), 1);
  assert.match(slow.logs[0] ?? '', /postgresql query timed out .*query="query slow" reason=timeout error="canceling statement due to statement timeout"/);
  assert.equal(val(await slow.gather(), 'postgresql.up'), 1);
  assert.equal(slow.logs.length, 1, 'logged once');
});

test('server restarted mid-run: reconnects, counters reset, rate never negative', { skip }, async () => {
  const p = collector({ servers: [server.url('sonde', 'sonde-pw')], collect: ['databases'] });
  const batches = [await p.gather()];
  const c = await appClient();
  for (let i = 0; i < 10; i++) await c.query('SELECT 1');
  await c.end();
  await until('commits counted', async () => {
    const b = await p.gather();
    return val(b, 'postgresql.xact_commit', { db: 'app' }) > val(batches[0] as never, 'postgresql.xact_commit', { db: 'app' }) ? batches.push(b) : undefined;
  });
  const beforeRestart = val(batches.at(-1) as never, 'postgresql.xact_commit', { db: 'app' });
  // immediate shutdown: the statistics are discarded, as after a crash
  await server.kill('SIGQUIT');
  await server.start();
  let down = 0;
  const after = await until('reconnected', async () => {
    const b = await p.gather();
    if (val(b, 'postgresql.up') === 0) down++;
    return val(b, 'postgresql.up') === 1 ? b : undefined;
  });
  batches.push(after);
  assert.ok(val(after, 'postgresql.xact_commit', { db: 'app' }) < beforeRestart, 'counter was reset by the restart');
  const later = await p.gather();
  batches.push(later);
  const r = rates(batches).flat();
  assert.ok(r.length > 0);
  assert.ok(r.every((x) => x.value >= 0), 'no negative rate across the reset');
  // a poll that met the dropped connection is counted; the outage is logged once, then one recovery line
  assert.equal(selfMetric(p.ctx, 'errors{reason=unreachable}'), down);
  if (down > 0) {
    assert.equal(p.logs.filter((l) => l.includes('postgresql server not reachable')).length, 1, p.logs.join('\n'));
    assert.equal(p.logs.filter((l) => l.includes('postgresql server recovered')).length, 1, p.logs.join('\n'));
  } else assert.deepEqual(p.logs, []);
  clients.splice(clients.indexOf(c), 1);
});
