/**
 * Replica status of the mysql input on a real MariaDB primary and replica: both threads running and
 * no delay once caught up, positions matching what the replica says, and a stopped SQL thread
 * reported as such (no seconds_behind while it is stopped).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';
import mysql from '../../src/inputs/mysql.js';
import { missingServer } from '../helpers/servers.js';
import { MARIADBD, startMariadb, type Mariadb } from '../helpers/sql-servers.js';
import { buildService, find, until, val, type Built } from './service-helpers.js';

const skip = existsSync(MARIADBD) ? false : missingServer('mariadbd', 'mariadb-server');
let primary: Mariadb;
let replica: Mariadb;
const built: Built[] = [];

before(async () => {
  if (skip) return;
  // one after the other, each kept as soon as it runs, so that `after` stops whichever started
  primary = await startMariadb(['--log-bin=mysql-bin', '--server-id=1']);
  replica = await startMariadb(['--server-id=2']);
  primary.sql("CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-pw'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'");
  replica.sql("CREATE USER 'sonde'@'%' IDENTIFIED BY 'sonde-pw'; GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'sonde'@'%'");
  replica.sql(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=no; START REPLICA`);
});

after(async () => {
  for (const b of built) await b.stop();
  await Promise.all([replica?.stop(), primary?.stop()]);
});

/** A field of SHOW REPLICA STATUS as the replica reports it. */
async function field(name: string): Promise<string> {
  const c = await createConnection({ socketPath: replica.socket, user: 'root' });
  try {
    const [rows] = await c.query('SHOW REPLICA STATUS');
    return String((rows as Array<Record<string, unknown>>)[0]?.[name] ?? '');
  } finally {
    await c.end();
  }
}

test('a running replica: both threads, caught up, positions as the replica reports them', { skip }, async () => {
  primary.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO shop.orders VALUES (1), (2), (3)');
  await until('replicated', () => (replica.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop'") === '1' && replica.sql('SELECT COUNT(*) FROM shop.orders') === '3' ? true : undefined));
  const p = buildService(mysql, { servers: [`mysql://sonde:sonde-pw@127.0.0.1:${replica.port}/`], collect: ['replica', 'schemas'] });
  built.push(p);
  const tags = { channel: 'default', source: `127.0.0.1_${primary.port}` };
  const pts = await until('caught up', async () => {
    const b = await p.gather();
    return find(b, 'mysql.replica.seconds_behind', tags)[0]?.value === 0 ? b : undefined;
  });
  assert.equal(val(pts, 'mysql.replica.io_running', tags), 1);
  assert.equal(val(pts, 'mysql.replica.sql_running', tags), 1);
  assert.equal(val(pts, 'mysql.replica.last_sql_errno', tags), 0);
  assert.equal(val(pts, 'mysql.replica.exec_log_pos', tags), Number(await field('Exec_Master_Log_Pos')));
  assert.equal(val(pts, 'mysql.replica.read_log_pos', tags), Number(await field('Read_Master_Log_Pos')));
  assert.equal(val(pts, 'mysql.schema.tables', { schema: 'shop' }), 1);

  replica.sql('STOP REPLICA SQL_THREAD');
  const stopped = await p.gather();
  assert.equal(val(stopped, 'mysql.replica.sql_running', tags), 0);
  assert.equal(val(stopped, 'mysql.replica.io_running', tags), 1);
  assert.equal(find(stopped, 'mysql.replica.seconds_behind').length, 0, 'no delay while the SQL thread is stopped');
  assert.deepEqual(p.logs, []);
});
