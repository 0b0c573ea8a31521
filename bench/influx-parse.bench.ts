/**
 * The Influx line protocol parser on the ingest bench's bodies, as the receiver's parse thread runs it
 * (`strings: 'drop'`, `sanitize: false`, one series cache kept across bodies): points parsed per CPU
 * second of this process. With `--base FILE` (an `influx.ts` of another checkout, e.g. the main
 * branch's `src/codecs/influx.ts`), that parser runs in the same process too, alternating with this
 * one round by round, and the table gives both medians and their ratio.
 *
 * Usage: node --import tsx bench/influx-parse.bench.ts [--base FILE] [--rounds N] [--points N]
 *        [--series N] [--batch N]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deepStrictEqual } from 'node:assert';
import * as current from '../src/codecs/influx.js';

type Codec = Pick<typeof current, 'parseInfluxLines' | 'InfluxSeriesCache'>;

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string' },
    points: { type: 'string' },
    series: { type: 'string' },
    batch: { type: 'string' },
  },
});
const POINTS = Number(opts.points ?? 1_000_000);
const SERIES = Number(opts.series ?? 1000);
const BATCH = Number(opts.batch ?? 5000);
const ROUNDS = Math.max(1, Number(opts.rounds ?? 7));

// the ingest bench's bodies (bench/ingest.bench.ts), as bytes
const T0 = Date.now() - 3_600_000;
const bodies: Buffer[] = [];
for (let i = 0; i < POINTS; i += BATCH) {
  let b = '';
  for (let k = i; k < Math.min(POINTS, i + BATCH); k++) {
    const s = k % SERIES;
    b += `bench,host=h${s},dc=d${s % 7} value=${k % 997} ${T0 + Math.floor(k / SERIES) * 10}\n`;
  }
  bodies.push(Buffer.from(b));
}

interface Run {
  readonly label: string;
  readonly codec: Codec;
  readonly cache: InstanceType<Codec['InfluxSeriesCache']>;
  readonly rates: number[];
}

const runs: Run[] = [{ label: 'this checkout', codec: current, cache: new current.InfluxSeriesCache(10_000), rates: [] }];
if (opts.base !== undefined) {
  const codec = (await import(pathToFileURL(resolve(opts.base)).href)) as Codec;
  runs.push({ label: `base (${opts.base})`, codec, cache: new codec.InfluxSeriesCache(10_000), rates: [] });
}

function parseAll(r: Run): number {
  let n = 0;
  for (const b of bodies) {
    const d = r.codec.parseInfluxLines(b, { precision: 'ms', now: T0, strings: 'drop', sanitize: false, seriesCache: r.cache });
    if (d.errors.length > 0) throw new Error(`${r.label}: ${d.errors.length} errors`);
    n += d.items.length;
  }
  return n;
}

// both parse the same points (checked on a few bodies, with and without a warm cache)
if (runs.length > 1) {
  const [a, b] = runs as [Run, Run];
  for (const body of [bodies[0], bodies[1], bodies[bodies.length - 1]]) {
    if (body === undefined) continue;
    const o = { precision: 'ms', now: T0, strings: 'drop', sanitize: false } as const;
    deepStrictEqual(a.codec.parseInfluxLines(body, { ...o, seriesCache: a.cache }), b.codec.parseInfluxLines(body, { ...o, seriesCache: b.cache }));
    deepStrictEqual(a.codec.parseInfluxLines(body, o), b.codec.parseInfluxLines(body, o));
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
for (let round = 0; round <= ROUNDS; round++) {
  // alternate which one goes first; round 0 warms both up and is not counted
  const order = round % 2 === 0 ? runs : [...runs].reverse();
  for (const r of order) {
    gc?.();
    const c0 = process.cpuUsage();
    const n = parseAll(r);
    const c = process.cpuUsage(c0);
    if (round > 0) r.rates.push(n / ((c.user + c.system) / 1e6));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number): string => (x / 1e6).toFixed(2);
const bytes = bodies.reduce((n, b) => n + b.length, 0);
console.log(
  `${POINTS.toLocaleString('en')} points, ${SERIES} series, ${BATCH} lines a body (${(bytes / 1e6).toFixed(1)} MB), precision ms, ` +
    `strings drop, sanitize off, one series cache; ${ROUNDS} rounds, alternating${gc ? ', gc between runs' : ''}\n`,
);
console.log('| parser | M points / CPU s (median) | min | max | vs base |');
console.log('|---|---:|---:|---:|---:|');
const base = runs[1] !== undefined ? median(runs[1].rates) : undefined;
for (const r of runs) {
  const m = median(r.rates);
  console.log(`| ${r.label} | ${fmt(m)} | ${fmt(Math.min(...r.rates))} | ${fmt(Math.max(...r.rates))} | ${base !== undefined ? (m / base).toFixed(2) + 'x' : ''} |`);
}
