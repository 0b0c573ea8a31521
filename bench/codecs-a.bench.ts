/**
 * Throughput of the statsd, Graphite plaintext, carbon pickle and collectd codecs, decode and encode, on one
 * core. For reference, the statsd row is also run with an etsy-style `split()` parser using etsy statsd's own
 * `is_valid_packet` (from the `statsd` dev dependency).
 * Run: node --import tsx bench/codecs-a.bench.ts   (SONDE_BENCH_MS=N sets the time per row, default 1000)
 */
import { createRequire } from 'node:module';
import { parseStatsd, formatStatsd, packStatsdLines, type StatsdSample } from '../src/codecs/statsd.js';
import { parseGraphitePlaintext, formatGraphitePlaintext } from '../src/codecs/graphite.js';
import { decodePickle, decodePickleFrames, encodePickle, type PickleDatapoint } from '../src/codecs/pickle.js';
import { decodeCollectd, encodeCollectd, valueListToPoints, builtinTypesDb, type ValueList } from '../src/codecs/collectd.js';

const BUDGET_MS = Number(process.env.SONDE_BENCH_MS ?? 1000);

/** Runs `fn` (which handles `units` items per call) for about BUDGET_MS after a warm-up; items per second. */
function rate(units: number, fn: () => unknown): number {
  let sink = 0;
  const warm = performance.now() + Math.min(200, BUDGET_MS / 4);
  while (performance.now() < warm) sink += fn() === undefined ? 0 : 1;
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) {
    for (let i = 0; i < 16; i++) sink += fn() === undefined ? 0 : 1;
    calls += 16;
    t = performance.now();
  }
  if (sink < 0) console.log(sink);
  return (calls * units) / ((t - t0) / 1000);
}

const rows: [string, string, number, string][] = [];
const add = (codec: string, what: string, perSec: number, unit: string): void => {
  rows.push([codec, what, perSec, unit]);
};

// --- statsd ------------------------------------------------------------------------------------------------
const statsdLines = [
  'api.requests:1|c',
  'api.latency:12.5|ms|@0.5',
  'queue.depth:42|g',
  'queue.delta:-3|g',
  'db.query_time:3.25|ms|#db:users,op:select',
  'cache.hits:7|c|#region:eu-1',
  'payload.size:1024|h',
  'users.online:alice|s',
  'jobs.done:1|c:2|c',
  'temp.celsius:21.5|g|#room:lab,floor:2',
];
const statsdPacket = Buffer.from(statsdLines.join('\n'));
const statsdLineCount = parseStatsd(statsdPacket).items.length;
add('statsd', 'parse packet of 10 lines', rate(statsdLineCount, () => parseStatsd(statsdPacket)), 'samples/s');

const require = createRequire(import.meta.url);
const etsy = require('statsd/lib/helpers.js') as { is_valid_packet(f: string[]): boolean };
/** The way etsy statsd reads a packet (stats.js), without its aggregation: split() and a validity check. */
function etsyStyle(msg: Buffer): number {
  let n = 0;
  for (const line of msg.toString().split('\n')) {
    if (line.length === 0) continue;
    let bits = line.split('|#');
    bits = (bits[0] as string).split(':');
    const key = (bits.shift() as string).replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
    for (const b of bits) {
      const fields = b.split('|');
      if (!etsy.is_valid_packet(fields)) continue;
      if (fields[2]) Number((/^@([\d.]+)/.exec(fields[2]) as RegExpExecArray)[1]);
      Number(fields[0]);
      if (key.length > 0) n++;
    }
  }
  return n;
}
add('statsd (etsy-style split, reference)', 'parse packet of 10 lines', rate(statsdLineCount, () => etsyStyle(statsdPacket)), 'samples/s');

const statsdSamples: StatsdSample[] = parseStatsd(statsdPacket).items;
add('statsd', 'formatStatsd', rate(statsdSamples.length, () => statsdSamples.map(formatStatsd)), 'samples/s');
const manyLines = Array.from({ length: 1000 }, (_, i) => statsdLines[i % statsdLines.length] as string);
add('statsd', 'packStatsdLines (1432 B)', rate(manyLines.length, () => packStatsdLines(manyLines)), 'lines/s');

// --- Graphite plaintext ------------------------------------------------------------------------------------
const now = 1_700_000_000;
const graphiteChunk = Buffer.from(
  Array.from({ length: 100 }, (_, i) =>
    i % 5 === 0
      ? `servers.web${i % 7}.disk.used;mount=/var;fs=ext4 ${i * 1.5} ${now + i}`
      : `servers.web${i % 7}.cpu.core${i % 16}.user ${(i * 0.37).toFixed(2)} ${now + i}`,
  ).join('\n') + '\n',
);
add('graphite', 'parse 100-line chunk', rate(100, () => parseGraphitePlaintext(graphiteChunk, now * 1000)), 'points/s');
add(
  'graphite',
  'formatGraphitePlaintext',
  rate(100, () => {
    let s = '';
    for (let i = 0; i < 100; i++) s += formatGraphitePlaintext(`servers.web1.cpu.core${i & 15}.user`, i * 0.37, now + i);
    return s;
  }),
  'points/s',
);

// --- pickle ------------------------------------------------------------------------------------------------
const dps: PickleDatapoint[] = Array.from({ length: 500 }, (_, i) => [`servers.web${i % 7}.cpu.core${i % 16}.user`, now + i, i * 0.37]);
const frame = encodePickle(dps);
add('pickle', 'decode frame of 500 points', rate(500, () => decodePickle(decodePickleFrames(frame).frames[0] as Buffer)), 'points/s');
add('pickle', 'encodePickle 500 points', rate(500, () => encodePickle(dps)), 'points/s');

// --- collectd ----------------------------------------------------------------------------------------------
const db = builtinTypesDb();
const lists: ValueList[] = Array.from({ length: 1000 }, (_, i) => ({
  host: `web${i % 4}`,
  plugin: i % 3 === 0 ? 'cpu' : 'interface',
  pluginInstance: String(i % 8),
  type: i % 3 === 0 ? 'cpu' : 'if_octets',
  typeInstance: i % 3 === 0 ? ['user', 'system', 'idle'][i % 3] as string : '',
  time: now + Math.floor(i / 50),
  interval: 10,
  values:
    i % 3 === 0
      ? [{ kind: 'derive' as const, value: i * 100 }]
      : [
          { kind: 'derive' as const, value: i * 1000 },
          { kind: 'derive' as const, value: i * 2000 },
        ],
}));
const sec = { username: 'bench', password: 'secret' };
for (const level of ['none', 'sign', 'encrypt'] as const) {
  const packets = level === 'none' ? encodeCollectd(lists) : encodeCollectd(lists, { security: { level, ...sec } });
  const opts = { securityLevel: level, passwordFor: () => sec.password, typesDb: db };
  add(
    'collectd',
    `decode ${level === 'none' ? 'plain' : level === 'sign' ? 'signed' : 'encrypted'} (${packets.length} packets) + to points`,
    rate(lists.length, () => {
      let n = 0;
      for (const p of packets) for (const vl of decodeCollectd(p, opts).items) n += valueListToPoints(vl, db).length;
      return n;
    }),
    'value lists/s',
  );
  add(
    'collectd',
    `encode ${level === 'none' ? 'plain' : level === 'sign' ? 'signed' : 'encrypted'}`,
    rate(lists.length, () => (level === 'none' ? encodeCollectd(lists) : encodeCollectd(lists, { security: { level, ...sec } }))),
    'value lists/s',
  );
}

const fmt = (n: number): string => (n >= 1e6 ? (n / 1e6).toFixed(2) + ' M' : (n / 1e3).toFixed(0) + ' k');
console.log(`\nCodec throughput, one core, Node ${process.version}, ${BUDGET_MS} ms per row\n`);
console.log('| codec | operation | throughput | unit |');
console.log('|---|---|---:|---|');
for (const [codec, what, perSec, unit] of rows) console.log(`| ${codec} | ${what} | ${fmt(perSec)} | ${unit} |`);
