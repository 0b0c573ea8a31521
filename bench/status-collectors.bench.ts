/**
 * Time per gather of the status-interface collectors (redis, memcached, nginx, apache, haproxy), each
 * against its real server started on 127.0.0.1 as in the integration tests, with some load on it
 * first. Peers in the same run: ioredis (a persistent connection, `info('all')`, the same parser) for
 * redis, and the global fetch() (undici) for the HTTP status pages.
 * Usage: node --import tsx bench/status-collectors.bench.ts [runs]   (default 300, at most ~2 s per row)
 */
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { builtinRegistry } from '../src/plugins.js';
import { parseRedisInfo } from '../src/codecs/redis-info.js';
import { parseNginxStubStatus } from '../src/codecs/nginx-stub-status.js';
import { parseApacheStatus } from '../src/codecs/apache-status.js';
import { parseHaproxyCsv } from '../src/codecs/haproxy-csv.js';
import type { Point } from '../src/model/point.js';
import { testContext } from '../test/helpers/context.js';
import { which } from '../test/helpers/servers.js';
import type { RunningServer } from '../test/helpers/servers.js';
import { redisCli, startApache, startHaproxy, startMemcached, startNginx, startRedis } from '../test/helpers/status-servers.js';

const RUNS = Number(process.argv[2] ?? process.env.SONDE_BENCH_RUNS ?? 300);
const BUDGET_MS = 2000;
const WARMUP = 10;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

async function time(fn: () => Promise<Point[]>): Promise<{ runs: number; points: number; mean: number; median: number; p99: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  let points = 0;
  const start = performance.now();
  for (let i = 0; i < RUNS && performance.now() - start < BUDGET_MS; i++) {
    const t0 = performance.now();
    points = (await fn()).length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { runs: times.length, points, mean: times.reduce((a, b) => a + b, 0) / times.length, median: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

const rows: string[] = [];
const row = (plugin: string, how: string, r: Awaited<ReturnType<typeof time>>): void => {
  rows.push(`| ${plugin} | ${how} | ${r.runs} | ${r.points} | ${r.median.toFixed(3)} | ${r.mean.toFixed(3)} | ${r.p99.toFixed(3)} |`);
};

async function sonde(name: string, config: Record<string, unknown>): Promise<() => Promise<Point[]>> {
  const spec = (await builtinRegistry()).get('input', name);
  if (!spec) throw new Error(`no input ${name}`);
  const ctx = testContext({ id: 'inputs.' + name });
  const input = spec.create(spec.schema.parse(config), ctx);
  return async () => {
    const pts = (await input.gather?.(Date.now())) ?? [];
    if (pts.some((p) => p.name.endsWith('.up') && p.value === 0)) throw new Error(`${name}: poll failed: ${ctx.selfMetrics.byPlugin()[0]?.lastError?.message}`);
    return pts;
  };
}

const servers: RunningServer[] = [];
const closers: Array<() => void> = [];
try {
  if (which('redis-server')) {
    const srv = await startRedis({ unixSocket: true });
    servers.push(srv);
    for (let i = 0; i < 20; i++) redisCli(srv.port, ['SET', `k${i}`, 'v']);
    redisCli(srv.port, ['GET', 'k1']);
    row('redis', `sonde, TCP (new connection per poll)`, await time(await sonde('redis', { servers: [`127.0.0.1:${srv.port}`] })));
    row('redis', 'sonde, unix socket', await time(await sonde('redis', { servers: [`unix://${srv.socket}`] })));
    const client = new Redis({ host: '127.0.0.1', port: srv.port, lazyConnect: true });
    await client.connect();
    const tags = { server: `127.0.0.1:${srv.port}` };
    row('redis', 'ioredis 6, TCP (kept connection), same parser', await time(async () => parseRedisInfo(await client.info('all'), Date.now(), tags).items));
    client.disconnect();
  }
  if (which('memcached')) {
    const srv = await startMemcached();
    servers.push(srv);
    row('memcached', 'sonde, stats', await time(await sonde('memcached', { servers: [`127.0.0.1:${srv.port}`] })));
    row('memcached', 'sonde, stats + stats slabs', await time(await sonde('memcached', { servers: [`127.0.0.1:${srv.port}`], slabs: true })));
  }
  if (which('nginx')) {
    const srv = await startNginx();
    servers.push(srv);
    row('nginx', 'sonde (node:http)', await time(await sonde('nginx', { urls: [srv.statusUrl] })));
    const tags = { server: `127.0.0.1:${srv.port}` };
    row('nginx', 'fetch() (undici), same parser', await time(async () => parseNginxStubStatus(await (await fetch(srv.statusUrl)).text(), Date.now(), tags).items));
  }
  if (which('apache2')) {
    const srv = await startApache();
    servers.push(srv);
    row('apache', 'sonde (node:http)', await time(await sonde('apache', { urls: [srv.statusUrl] })));
    const tags = { server: `127.0.0.1:${srv.port}` };
    row('apache', 'fetch() (undici), same parser', await time(async () => parseApacheStatus(await (await fetch(srv.statusUrl + '?auto')).text(), Date.now(), tags).items));
  }
  if (which('haproxy')) {
    const backend = createServer((_q, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    closers.push(() => backend.close());
    const srv = await startHaproxy((backend.address() as { port: number }).port);
    servers.push(srv);
    row('haproxy', 'sonde, stats socket (show info;show stat)', await time(await sonde('haproxy', { servers: [srv.socket] })));
    row('haproxy', 'sonde, stats page CSV (node:http)', await time(await sonde('haproxy', { servers: [srv.statsUrl] })));
    const tags = { server: `127.0.0.1:${srv.ports['stats']}` };
    row('haproxy', 'fetch() (undici), same parser', await time(async () => parseHaproxyCsv(await (await fetch(srv.statsUrl + ';csv')).text(), Date.now(), tags).items));
  }
} finally {
  for (const s of servers) await s.stop();
  for (const c of closers) c();
}

console.log(`status collectors, one server each on 127.0.0.1, node ${process.version}, up to ${RUNS} gathers per row (max ${BUDGET_MS / 1000} s)\n`);
console.log('| plugin | how | runs | points | median ms | mean ms | p99 ms |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
