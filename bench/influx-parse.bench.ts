/**
 * The Influx line protocol parser on the ingest bench's bodies, as the receiver's parse thread runs it
 * (`strings: 'drop'`, `sanitize: false`, one series cache kept across bodies): points parsed per CPU
 * second. With `--base FILE` (an `influx.ts` of another checkout, e.g. the main branch's
 * `src/codecs/influx.ts`), that parser is measured in the same run too, alternating with this one round
 * by round, and the table gives both medians and their ratio. Each round of each parser runs in a
 * process of its own (two parsers in one process slowed each other down, unevenly: shared heap and
 * caches), which warms it up (two passes over every body) and then reports the median of three
 * measured passes.
 *
 * Usage: node --import tsx bench/influx-parse.bench.ts [--base FILE] [--rounds N] [--points N]
 *        [--series N] [--batch N] [--shuffle] [--fields N]
 *   --shuffle   lines in random order (the same series, no two bodies alike in order)
 *   --fields N  Telegraf's cpu lines instead (`cpu,cpu=cpuK,host=host-N.example.com usage_user=...`,
 *               N fields, ns timestamps); points count fields, so there are points / N lines
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { deepStrictEqual } from 'node:assert';

interface Codec {
  parseInfluxLines: typeof import('../src/codecs/influx.js').parseInfluxLines;
  InfluxSeriesCache: typeof import('../src/codecs/influx.js').InfluxSeriesCache;
}

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string' },
    points: { type: 'string' },
    series: { type: 'string' },
    batch: { type: 'string' },
    shuffle: { type: 'boolean' },
    fields: { type: 'string' },
    // internal: measure the parser of this file and print the rate (one round, in a process of its own)
    child: { type: 'string' },
  },
});
const POINTS = Number(opts.points ?? 1_000_000);
const SERIES = Number(opts.series ?? 1000);
const BATCH = Number(opts.batch ?? 5000);
const ROUNDS = Math.max(1, Number(opts.rounds ?? 5));
const FIELDS = opts.fields !== undefined ? Math.max(1, Number(opts.fields)) : 0;
const CPU_FIELDS = ['user', 'system', 'idle', 'nice', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];
const SELF = fileURLToPath(import.meta.url);
const CURRENT = fileURLToPath(new URL('../src/codecs/influx.ts', import.meta.url));

// the ingest bench's bodies (bench/ingest.bench.ts), as bytes; --shuffle puts the lines in a random
// (seeded, so every process gets the same) order
const T0 = 1_764_768_000_000;
function buildBodies(): Buffer[] {
  const lines: string[] = [];
  const perLine = FIELDS || 1;
  for (let k = 0; k < POINTS / perLine; k++) {
    const s = k % SERIES;
    const ts = T0 + Math.floor(k / SERIES) * 10;
    if (FIELDS === 0) lines.push(`bench,host=h${s},dc=d${s % 7} value=${k % 997} ${ts}\n`);
    else {
      const f = Array.from({ length: FIELDS }, (_, j) => `usage_${CPU_FIELDS[j % 10]}${j >= 10 ? j : ''}=${((k * 7 + j) % 1000) / 10}`);
      lines.push(`cpu,cpu=cpu${s % 16},host=host-${s}.example.com ${f.join(',')} ${ts}000000\n`);
    }
  }
  if (opts.shuffle) {
    let seed = 12345;
    for (let i = lines.length - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (i + 1);
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    }
  }
  const bodies: Buffer[] = [];
  for (let i = 0; i < lines.length; i += BATCH) bodies.push(Buffer.from(lines.slice(i, i + BATCH).join('')));
  return bodies;
}

const OPTS = { precision: FIELDS ? 'ns' : 'ms', now: T0, strings: 'drop', sanitize: false } as const;

async function load(file: string): Promise<Codec> {
  return (await import(pathToFileURL(resolve(file)).href)) as Codec;
}

if (opts.child !== undefined) {
  // one round: warm up on every body, then parse them all again measured
  const codec = await load(opts.child);
  const bodies = buildBodies();
  const cache = new codec.InfluxSeriesCache(10_000);
  const parseAll = (): number => {
    let n = 0;
    for (const b of bodies) {
      const d = codec.parseInfluxLines(b, { ...OPTS, seriesCache: cache });
      if (d.errors.length > 0) throw new Error(`${d.errors.length} errors`);
      n += d.items.length;
    }
    return n;
  };
  // a parse thread runs for long: two passes to warm up, then the median of three
  parseAll();
  parseAll();
  const rates: number[] = [];
  for (let k = 0; k < 3; k++) {
    (globalThis as { gc?: () => void }).gc?.();
    const c0 = process.cpuUsage();
    const n = parseAll();
    const c = process.cpuUsage(c0);
    rates.push(n / ((c.user + c.system) / 1e6));
  }
  console.log(JSON.stringify({ rate: rates.sort((x, y) => x - y)[1] }));
  process.exit(0);
}

const parsers = [{ label: 'this checkout', file: CURRENT, rates: [] as number[] }];
if (opts.base !== undefined) {
  const base = resolve(opts.base);
  parsers.push({ label: `base (${opts.base})`, file: base, rates: [] });
  // both parse the same points (a few bodies, with and without a warm cache)
  const [a, b] = [await load(CURRENT), await load(base)];
  const bodies = buildBodies();
  const ca = new a.InfluxSeriesCache(10_000);
  const cb = new b.InfluxSeriesCache(10_000);
  for (const body of [bodies[0], bodies[1], bodies[bodies.length - 1], bodies[0]]) {
    if (body === undefined) continue;
    deepStrictEqual(a.parseInfluxLines(body, { ...OPTS, seriesCache: ca }), b.parseInfluxLines(body, { ...OPTS, seriesCache: cb }));
    deepStrictEqual(a.parseInfluxLines(body, OPTS), b.parseInfluxLines(body, OPTS));
  }
}

// the children build the same bodies
const pass = [`--points=${POINTS}`, `--series=${SERIES}`, `--batch=${BATCH}`, ...(FIELDS ? [`--fields=${FIELDS}`] : []), ...(opts.shuffle ? ['--shuffle'] : [])];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? parsers : [...parsers].reverse();
  for (const p of order) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', SELF, '--child', p.file, ...pass], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${p.label}: ${r.stderr}`);
    p.rates.push((JSON.parse(r.stdout.trim().split('\n').pop() as string) as { rate: number }).rate);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number): string => (x / 1e6).toFixed(2);
console.log(
  `${POINTS.toLocaleString('en')} points, ${SERIES} series, ${BATCH} lines a body${opts.shuffle ? ' (lines shuffled)' : ''}` +
    `${FIELDS ? `, Telegraf cpu lines of ${FIELDS} fields, precision ns` : ', precision ms'}, ` +
    `strings drop, sanitize off, one series cache; ${ROUNDS} rounds, alternating, a process each (2 passes to warm up, median of 3)\n`,
);
console.log('| parser | M points / CPU s (median) | min | max | vs base |');
console.log('|---|---:|---:|---:|---:|');
const baseRate = parsers[1] !== undefined ? median(parsers[1].rates) : undefined;
for (const p of parsers) {
  const m = median(p.rates);
  console.log(`| ${p.label} | ${fmt(m)} | ${fmt(Math.min(...p.rates))} | ${fmt(Math.max(...p.rates))} | ${baseRate !== undefined ? (m / baseRate).toFixed(2) + 'x' : ''} |`);
}
