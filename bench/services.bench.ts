/**
 * Time per gather of the postgresql, mysql and procstat inputs against real local servers
 * (bench/services-setup.ts; the other service collectors: bench/status-collectors.bench.ts),
 * next to what the same numbers cost another way, in the same run:
 * - postgresql / mysql: the collector's statements over a bare `pg` / `mysql2` connection (the floor:
 *   what the server takes to answer) and the script-collector way, a `psql` / `mariadb` process per
 *   gather running the main status statement (what a tcollector or PuyPuy check does);
 * - procstat: `ps` per gather for the same processes.
 * Usage: node --import tsx bench/services.bench.ts [runs]   (default 100 runs, at most ~4 s per row)
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { builtinRegistry } from '../src/plugins.js';
import { testContext } from '../test/helpers/context.js';
import { which } from '../test/helpers/servers.js';
import { BGWRITER_SQL, CONNECTIONS_SQL, DATABASE_SQL, LOCKS_SQL, REPLICATION_SQL, SERVER_SQL } from '../src/codecs/postgresql-rows.js';
import { INNODB_METRICS_SQL, REPLICA_SQL, SCHEMAS_SQL, STATUS_SQL } from '../src/codecs/mysql-rows.js';
import { startServices } from './services-setup.js';

const MINE = ['postgresql', 'mysql', 'procstat'];

const RUNS = Number(process.argv[2] ?? process.env.SONDE_BENCH_RUNS ?? 100);
const BUDGET_MS = 4000;
const WARMUP = 5;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

interface Row {
  what: string;
  runs: number;
  points: string;
  mean: number;
  p99: number;
}

async function time(what: string, f: () => Promise<number | undefined>): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) await f();
  const times: number[] = [];
  let points: number | undefined;
  const start = performance.now();
  for (let i = 0; i < RUNS && performance.now() - start < BUDGET_MS; i++) {
    const t0 = performance.now();
    points = await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { what, runs: times.length, points: points === undefined ? '' : String(points), mean: times.reduce((a, b) => a + b, 0) / times.length, p99: quantile(times, 0.99) };
}

const setup = await startServices(MINE);
const rows: Row[] = [];
try {
  const reg = await builtinRegistry();
  for (const name of MINE) {
    const config = setup.configs.get(name);
    const spec = reg.get('input', name);
    if (!config || !spec) continue;
    const ctx = testContext({ id: 'inputs.' + name });
    const input = spec.create(spec.schema.parse(config), ctx);
    rows.push(
      await time(`sonde ${name}`, async () => {
        const pts = (await input.gather?.(Date.now())) ?? [];
        const up = pts.find((p) => p.name === `${name}.up`);
        if (up && up.value !== 1) throw new Error(`${name} is down: ${ctx.selfMetrics.byPlugin()[0]?.lastError?.message ?? ''}`);
        return pts.length;
      }),
    );
    await input.stop?.();
    ctx.cleanup();

    if (name === 'postgresql') {
      const url = (config['servers'] as string[])[0] as string;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      rows.push(
        await time('  bare pg client, same statements', async () => {
          for (const sql of [SERVER_SQL, DATABASE_SQL, BGWRITER_SQL, CONNECTIONS_SQL, LOCKS_SQL, REPLICATION_SQL]) await c.query(sql);
          return undefined;
        }),
      );
      await c.end();
      const psql = which('psql');
      if (psql) rows.push(await time('  psql process per gather (pg_stat_database)', async () => void spawnSync(psql, ['-X', '-A', '-t', '-d', url, '-c', DATABASE_SQL], { encoding: 'utf8' })));
    }
    if (name === 'mysql') {
      const t = new URL((config['servers'] as string[])[0] as string);
      const c = await createConnection({ host: t.hostname, port: Number(t.port), user: t.username, password: decodeURIComponent(t.password) });
      rows.push(
        await time('  bare mysql2 client, same statements', async () => {
          for (const sql of [STATUS_SQL, 'SHOW GLOBAL VARIABLES', INNODB_METRICS_SQL, REPLICA_SQL, SCHEMAS_SQL]) await c.query(sql);
          return undefined;
        }),
      );
      await c.end();
      const cli = which('mariadb') ?? which('mysql');
      if (cli) {
        const args = ['--no-defaults', '-h', '127.0.0.1', '-P', t.port, `-u${t.username}`, `-p${decodeURIComponent(t.password)}`, '-N', '-B', '-e', STATUS_SQL];
        rows.push(await time('  mariadb process per gather (SHOW GLOBAL STATUS)', async () => void spawnSync(cli, args, { encoding: 'utf8' })));
      }
    }
    if (name === 'procstat') {
      rows.push(await time('  ps process per gather (same processes)', async () => void spawnSync('ps', ['-C', 'postgres,mariadbd', '-o', 'pid,rss,vsz,nlwp,time,maj_flt,min_flt'], { encoding: 'utf8' })));
    }
  }
} finally {
  await setup.stop();
}

console.log(`service collectors against local servers, node ${process.version}, ${RUNS} runs each (max ${BUDGET_MS / 1000} s)\n`);
console.log('| gather | runs | points | mean ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.what} | ${r.runs} | ${r.points} | ${r.mean.toFixed(2)} | ${r.p99.toFixed(2)} |`);
for (const [name, why] of setup.skipped) console.log(`| ${name} | skipped: ${why} | | | |`);
