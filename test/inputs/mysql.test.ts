/**
 * The mysql input against a real MariaDB server from the Debian package, started by the test: known
 * load (inserts and selects) checked against what the server's SHOW GLOBAL STATUS says, variables,
 * InnoDB metrics, schema sizes, a custom query, TCP and unix socket, and the failures users meet:
 * wrong password, unknown database, server down, restarted mid-run (counter reset), a hung server
 * and a slow statement.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createConnection, type Connection } from 'mysql2/promise';
import mysql, { mysqlServerTag, parseMysqlUrl } from '../../src/inputs/mysql.js';
import { missingServer } from '../helpers/servers.js';
import { MARIADBD, startMariadb, type Mariadb } from '../helpers/sql-servers.js';
import { assertConnectTimeout, assertDownLoggedOnce, buildService, find, rates, selfMetric, silentServer, until, val, type Built } from './service-helpers.js';

const skip = existsSync(MARIADBD) ? false : missingServer('mariadbd', 'mariadb-server');
let server: Mariadb;
const built: Built[] = [];

before(async () => {
  if (skip) return;
  server = await startMariadb();
  server.sql("CREATE USER 'sonde'@'%' IDENTIFIED BY 'sonde-pw'");
  server.sql("GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'sonde'@'%'");
  server.sql('CREATE DATABASE app');
  server.sql('CREATE TABLE app.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB');
});

after(async () => {
  for (const b of built) await b.stop();
  await server?.stop();
});

function collector(config: Record<string, unknown>): Built {
  const b = buildService(mysql, config);
  built.push(b);
  return b;
}

const url = (user = 'sonde', pw = 'sonde-pw', db = '') => `mysql://${user}:${pw}@127.0.0.1:${server.port}/${db}`;
const tag = () => `127.0.0.1_${server.port}`;
const status = (name: string): number => Number(server.sql(`SHOW GLOBAL STATUS LIKE '${name}'`).split('\t')[1]);

async function rootConn(): Promise<Connection> {
  const c = await createConnection({ socketPath: server.socket, user: 'root', database: 'app' });
  c.on('error', () => undefined);
  return c;
}

test('URL parsing and the server tag (never credentials)', () => {
  const t = parseMysqlUrl('mysql://u:p%40ss@db1:3307/app?ssl=true');
  assert.deepEqual(t, { host: 'db1', port: 3307, user: 'u', password: 'p@ss', database: 'app', ssl: 'verify' });
  assert.equal(mysqlServerTag(t as never), 'db1:3307');
  const sock = parseMysqlUrl('mysql://u@localhost/?socket=/run/mysqld/mysqld.sock');
  assert.equal(mysqlServerTag(sock as never), '/run/mysqld/mysqld.sock');
  assert.equal(parseMysqlUrl('postgres://x'), undefined);
  assert.equal(parseMysqlUrl('mysql://x/?ssl=maybe'), undefined);
  assert.throws(() => mysql.schema.parse({ servers: ['http://x'] }), /mysql:\/\/sonde:secret/);
  assert.throws(() => mysql.schema.parse({ variables: ["x'; DROP"] }), /variable name/);
});

test('counters follow known load; variables, InnoDB metrics, schema sizes, custom query', { skip }, async () => {
  const p = collector({ servers: [url()], query: [{ sql: 'SELECT COUNT(*) AS total FROM app.items', name: 'items' }] });
  const first = await p.gather();
  assert.equal(val(first, 'mysql.up', { server: tag() }), 1);
  const before = { insert: val(first, 'mysql.com_insert'), rows: val(first, 'mysql.handler_write'), questions: val(first, 'mysql.questions') };
  assert.equal(find(first, 'mysql.com_insert')[0]?.kind, 'counter');
  assert.equal(find(first, 'mysql.threads_connected')[0]?.kind, 'gauge');

  const c = await rootConn();
  for (let i = 0; i < 30; i++) await c.query('INSERT INTO items (name) VALUES (?)', [`n${i % 3}`]);
  for (let i = 0; i < 20; i++) await c.query('SELECT COUNT(*) FROM items');
  const second = await p.gather();
  await c.end();
  // nothing else inserts: the server's own count equals ours, and rose by exactly the load
  assert.equal(val(second, 'mysql.com_insert'), status('Com_insert'));
  assert.equal(val(second, 'mysql.com_insert') - before.insert, 30);
  assert.ok(val(second, 'mysql.handler_write') - before.rows >= 30);
  assert.ok(val(second, 'mysql.questions') - before.questions >= 50);
  assert.ok(val(second, 'mysql.threads_connected') >= 2);
  assert.ok(val(second, 'mysql.uptime') >= 0);

  assert.equal(val(second, 'mysql.variables.max_connections'), Number(server.sql('SELECT @@max_connections')));
  assert.equal(val(second, 'mysql.variables.innodb_buffer_pool_size'), 16 * 1024 * 1024);
  assert.equal(val(second, 'mysql.variables.read_only'), 0);

  const deadlocks = find(second, 'mysql.innodb.lock_deadlocks')[0];
  assert.equal(deadlocks?.value, Number(server.sql("SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'")));
  assert.equal(deadlocks?.kind, 'gauge');
  const enabled = Number(server.sql('SELECT COUNT(*) FROM information_schema.INNODB_METRICS WHERE ENABLED = 1'));
  assert.equal(second.filter((x) => x.name.startsWith('mysql.innodb.')).length, enabled, 'only enabled InnoDB metrics');

  const [dataBytes, indexBytes] = server.sql("SELECT SUM(data_length), SUM(index_length) FROM information_schema.tables WHERE table_schema = 'app'").split('\t').map(Number);
  assert.equal(val(second, 'mysql.schema.tables', { schema: 'app' }), 1);
  assert.equal(val(second, 'mysql.schema.data_bytes', { schema: 'app' }), dataBytes);
  assert.equal(val(second, 'mysql.schema.index_bytes', { schema: 'app' }), indexBytes);
  assert.equal(find(second, 'mysql.schema.tables', { schema: 'mysql' }).length, 0, 'system schemas left out');

  assert.equal(val(second, 'mysql.items.total'), 30);
  // not a replica: no replica points, and no error
  assert.equal(second.filter((x) => x.name.startsWith('mysql.replica.')).length, 0);
  assert.equal(selfMetric(p.ctx, 'errors{reason=query_failed}'), 0, p.logs.join('\n'));
  assert.deepEqual(p.logs, []);
});

test('unix socket and a second server in one instance', { skip }, async () => {
  const dead = await silentServer();
  const port = dead.port;
  await dead.close();
  const p = collector({ servers: [`mysql://sonde:sonde-pw@localhost/?socket=${encodeURIComponent(server.socket)}`, `mysql://sonde:x@127.0.0.1:${port}/`], collect: ['status'] });
  const pts = await p.gather();
  const sockTag = find(pts, 'mysql.up').find((x) => x.value === 1)?.tags['server'];
  assert.ok(sockTag?.endsWith('mysqld.sock'), sockTag);
  assert.equal(val(pts, 'mysql.up', { server: `127.0.0.1_${port}` }), 0);
  assert.ok(val(pts, 'mysql.questions', { server: sockTag as string }) > 0);
});

test('wrong password: up=0, errors{reason=auth_failed}, logged once', { skip }, async () => {
  const p = collector({ servers: [url('sonde', 'wrong')] });
  for (let i = 0; i < 3; i++) assert.deepEqual((await p.gather()).map((x) => [x.name, x.value]), [['mysql.up', 0]]);
  assert.equal(selfMetric(p.ctx, 'errors{reason=auth_failed}'), 3);
  assert.equal(p.logs.length, 1);
  assert.match(p.logs[0] ?? '', /WARN {2}mysql server refused the credentials server=127\.0\.0\.1:\d+ reason=auth_failed error="Access denied for user 'sonde'@'127\.0\.0\.1' \(using password: YES\)"/);
});

test('an unknown database is a bad_response (the address answers, the endpoint is wrong)', { skip }, async () => {
  const p = collector({ servers: [url('sonde', 'sonde-pw', 'nosuchdb')] });
  await p.gather();
  assert.equal(selfMetric(p.ctx, 'errors{reason=bad_response}'), 1);
  assert.match(p.logs[0] ?? '', /Unknown database 'nosuchdb'/);
});

test('server down: unreachable, counted each poll, logged once', { skip }, () =>
  assertDownLoggedOnce(collector, (port) => `mysql://sonde:x@127.0.0.1:${port}/`, 'mysql'));

test('hung server: connect_timeout bounds the poll; a slow statement hits query_timeout', { skip }, async () => {
  await assertConnectTimeout(collector, (port) => `mysql://sonde:x@127.0.0.1:${port}/`, 'mysql', 3000);
  const slow = collector({ servers: [url()], collect: [], query_timeout: '300ms', query: [{ sql: 'SELECT SLEEP(3) AS s', name: 'slow' }] });
  const t0 = Date.now();
  const pts = await slow.gather();
  assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);
  assert.equal(val(pts, 'mysql.up'), 0);
  assert.equal(selfMetric(slow.ctx, 'errors{reason=timeout}'), 1);
  assert.match(slow.logs[0] ?? '', /mysql server timed out .*reason=timeout error="Query inactivity timeout"/);
});

test('server restarted mid-run: reconnects, counters reset, rate never negative', { skip }, async () => {
  const p = collector({ servers: [url()], collect: ['status'] });
  const batches = [await p.gather()];
  const c = await rootConn();
  for (let i = 0; i < 10; i++) await c.query('INSERT INTO items (name) VALUES (?)', ['restart']);
  await c.end();
  batches.push(await p.gather());
  const beforeRestart = val(batches[1] as never, 'mysql.com_insert');
  assert.ok(beforeRestart >= 10);
  await server.kill();
  await server.start();
  let down = 0;
  const after = await until('reconnected', async () => {
    const b = await p.gather();
    if (val(b, 'mysql.up') === 0) down++;
    return val(b, 'mysql.up') === 1 ? b : undefined;
  });
  batches.push(after);
  assert.ok(val(after, 'mysql.com_insert') < beforeRestart, 'counter was reset by the restart');
  batches.push(await p.gather());
  const r = rates(batches).flat();
  assert.ok(r.length > 0);
  assert.ok(r.every((x) => x.value >= 0), 'no negative rate across the reset');
  assert.equal(selfMetric(p.ctx, 'errors{reason=unreachable}'), down);
  if (down > 0) {
    assert.equal(p.logs.filter((l) => l.includes('mysql server not reachable')).length, 1, p.logs.join('\n'));
    assert.equal(p.logs.filter((l) => l.includes('mysql server recovered')).length, 1, p.logs.join('\n'));
  }
});
