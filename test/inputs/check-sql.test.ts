/**
 * `sonde` in a check's context: a check module polling a real PostgreSQL through the collectors' own
 * client keeps one connection between runs, maps rows with `sonde.rows`, reports a refused password
 * by reason, and has its connection closed when the agent stops; `sonde.keep` for any resource.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import checkSpec from '../../src/inputs/check.js';
import { missingServer } from '../helpers/servers.js';
import { POSTGRES, psql, startPostgres, type Postgres } from '../helpers/sql-servers.js';
import { buildService, selfMetric, val, type Built } from './service-helpers.js';

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/exec/checks');
const skip = existsSync(POSTGRES) ? false : missingServer('postgres', 'postgresql');
let server: Postgres;
const built: Built[] = [];

before(async () => {
  if (skip) return;
  server = await startPostgres();
  psql(server, "CREATE ROLE app LOGIN PASSWORD 'app-pw'");
  psql(server, 'CREATE TABLE jobs (queue text NOT NULL, done int NOT NULL)');
  psql(server, "INSERT INTO jobs VALUES ('mail', 1), ('mail', 2), ('thumbs', 5)");
  psql(server, 'GRANT SELECT ON jobs TO app');
});

after(async () => {
  for (const b of built) await b.stop();
  await server?.stop();
});

function check(module: string, options: Record<string, unknown> = {}): Built {
  const b = buildService(checkSpec, { module, base_dir: DIR, options }, 5000);
  built.push(b);
  return b;
}

const sessions = () => Number(psql(server, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sonde-check'"));

test('a check reuses one PostgreSQL connection between runs and maps rows; stop closes it', { skip }, async () => {
  const c = check('./pg-pool.ts', { url: server.url('app', 'app-pw') });
  const first = await c.gather();
  const second = await c.gather();
  assert.equal(val(first, 'app.jobs.depth', { queue: 'mail' }), 2);
  assert.equal(val(first, 'app.jobs.done', { queue: 'thumbs' }), 5);
  assert.equal(first.find((p) => p.name === 'app.jobs.done')?.kind, 'counter');
  assert.equal(first.find((p) => p.name === 'app.jobs.depth')?.kind, 'gauge');
  // the same backend answered both runs: the connection was kept
  assert.equal(val(second, 'app.backend_pid'), val(first, 'app.backend_pid'));
  assert.equal(sessions(), 1);
  await c.input.stop?.();
  const end = Date.now() + 5000;
  while (sessions() !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sessions(), 0, 'closed at stop');
});

test('a refused password fails the run with its reason, counted and logged', { skip }, async () => {
  const c = check('./pg-pool.ts', { url: server.url('app', 'wrong') });
  assert.deepEqual(await c.gather(), []);
  assert.equal(selfMetric(c.ctx, 'check_errors'), 1);
  assert.equal(selfMetric(c.ctx, 'errors{reason=auth_failed}'), 1);
  assert.match(c.logs[0] ?? '', /ERROR check failed .*reason=auth_failed error="password authentication failed for user \\"app\\""/);
});

test('sonde.keep holds a value between runs and closes it at stop', async () => {
  const c = check('./keep.mjs');
  assert.equal(val(await c.gather(), 'keep.runs'), 1);
  assert.equal(val(await c.gather(), 'keep.runs'), 2);
  await c.input.stop?.();
  assert.equal((globalThis as { sondeKeepClosed?: number }).sondeKeepClosed, 2);
});
