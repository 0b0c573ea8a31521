/**
 * Time per gather of each host collector against this machine's /proc, /sys and mounts.
 * Usage: node --import tsx bench/host.bench.ts [runs]   (default 200 runs, at most ~3 s per collector)
 * Prints a markdown table of mean and p99 milliseconds per gather.
 */
import { performance } from 'node:perf_hooks';
import { builtinRegistry } from '../src/plugins.js';
import { testContext } from '../test/helpers/context.js';

const HOST = ['cpu', 'memory', 'load', 'uptime', 'disk', 'diskio', 'net', 'netstat', 'processes', 'agent'];
const RUNS = Number(process.argv[2] ?? process.env.SONDE_BENCH_RUNS ?? 200);
const BUDGET_MS = 3000;
const WARMUP = 5;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

const rows: string[] = [];
for (const name of HOST) {
  const spec = (await builtinRegistry()).get('input', name);
  if (!spec) continue;
  const ctx = testContext({ id: 'inputs.' + name });
  const input = spec.create(spec.schema.parse({}), ctx);
  const gather = input.gather?.bind(input);
  if (!gather) continue;
  for (let i = 0; i < WARMUP; i++) await gather(Date.now());
  const times: number[] = [];
  let points = 0;
  const start = performance.now();
  for (let i = 0; i < RUNS && performance.now() - start < BUDGET_MS; i++) {
    const t0 = performance.now();
    const pts = await gather(Date.now());
    times.push(performance.now() - t0);
    points = pts.length;
  }
  await input.stop?.();
  ctx.cleanup();
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  rows.push(`| ${name} | ${times.length} | ${points} | ${mean.toFixed(3)} | ${quantile(times, 0.99).toFixed(3)} |`);
}

console.log(`host collectors, node ${process.version}, ${RUNS} runs each (max ${BUDGET_MS / 1000} s)\n`);
console.log('| collector | runs | points | mean ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
