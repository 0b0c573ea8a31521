/**
 * `sonde query --max-points` and `sonde graph` messages: the cap reaches the agent API and the direct
 * store read, a cut result warns on stderr (never on stdout), and "raise --limit" only appears when
 * series, not points, were left out.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import type { HttpServer } from '../../src/http/server.js';
import { serveApi } from '../helpers/api-server.js';
import { queryCommand } from '../../src/cli/query.js';
import { graphCommand } from '../../src/cli/graph.js';
import { SondeError } from '../../src/errors.js';
import type { QueryResult } from '../../src/store/handle.js';
import { freePort } from '../helpers/spawn.js';

const T0 = 1_699_999_200_000;
const RANGE = ['--start', String(T0), '--end', String(T0 + 3_600_000)];

let dir: string;
let cfgFile: string;
let http: HttpServer;
let served: Tsdb;
let url: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-qcap-'));
  // three hosts, 100 samples each, 10 s apart
  const pts: Point[] = [];
  for (const host of ['a', 'b', 'c']) for (let i = 0; i < 100; i++) pts.push(point('m.x', i, T0 + i * 10_000, 'gauge', { host }));
  const direct = Tsdb.open(join(dir, 'data', 'store'));
  direct.writeSync(pts);
  direct.closeSync();
  // the config points the CLI at a port nothing listens on, so it reads the data directory itself
  cfgFile = join(dir, 'sonde.toml');
  writeFileSync(cfgFile, `[http]\nlisten = "127.0.0.1:${await freePort()}"\n`);

  served = Tsdb.open(join(dir, 'served'));
  served.writeSync(pts);
  ({ http, base: url } = await serveApi(served, dir));
});

after(async () => {
  await http.close();
  served.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command with its string output captured (the test runner's own reports are buffers, passed on). */
async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const grab =
    (orig: typeof ow, add: (s: string) => void) =>
    (c: string | Uint8Array, ...rest: unknown[]): boolean => {
      if (typeof c !== 'string') return (orig as (...a: unknown[]) => boolean)(c, ...rest);
      add(c);
      return true;
    };
  process.stdout.write = grab(ow, (s) => (stdout += s)) as typeof process.stdout.write;
  process.stderr.write = grab(ew, (s) => (stderr += s)) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

const query = (args: string[]) => capture(() => queryCommand(args));
const total = (r: QueryResult): number => r.series.reduce((n, s) => n + s.timestamps.length, 0);

for (const via of ['agent API', 'data directory'] as const) {
  const where = (): string[] => (via === 'agent API' ? ['--url', url] : ['-c', cfgFile, '-d', join(dir, 'data')]);

  test(`--max-points cuts the raw result and warns on stderr (${via})`, async () => {
    const r = await query(['m.x', ...RANGE, ...where(), '--max-points', '50', '--json']);
    assert.equal(r.code, 0);
    const json = JSON.parse(r.stdout) as QueryResult;
    assert.equal(json.pointsTruncated, true);
    assert.equal(json.maxPoints, 50);
    assert.equal(json.truncated, false);
    assert.equal(json.series.length, 3);
    // equal timestamps in all three: 16 of each (48) fit, a 17th time would make 51
    assert.equal(total(json), 48);
    assert.match(r.stderr, /^warning: raw result cut at 50 points; nothing from \S+ on/);
    assert.equal(json.truncatedAt, T0 + 160_000);
    assert.match(r.stderr, new RegExp(new Date(T0 + 160_000).toISOString().replace(/\./g, '\\.')));

    const uncut = await query(['m.x', ...RANGE, ...where(), '--json']);
    const all = JSON.parse(uncut.stdout) as QueryResult;
    assert.equal(total(all), 300);
    assert.equal(all.pointsTruncated, undefined);
    assert.equal(uncut.stderr, '');
  });

  test(`the table says "raise --limit" for left-out series only (${via})`, async () => {
    const pointsCut = await query(['m.x', ...RANGE, ...where(), '--max-points', '30']);
    assert.equal(pointsCut.code, 0);
    assert.doesNotMatch(pointsCut.stdout, /raise --limit/);
    assert.match(pointsCut.stderr, /cut at 30 points/);
    const seriesCut = await query(['m.x', ...RANGE, ...where(), '--limit', '2']);
    assert.match(seriesCut.stdout, /more series matched; raise --limit/);
    assert.equal(seriesCut.stderr, '');
    const both = await query(['m.x', ...RANGE, ...where(), '--limit', '1', '--max-points', '30']);
    assert.match(both.stdout, /raise --limit/);
    assert.match(both.stderr, /cut at 30 points/);
  });
}

test('bad --max-points values are usage errors', async () => {
  for (const v of ['0', '1.5', 'x', '1000001']) {
    await assert.rejects(
      query(['m.x', ...RANGE, '--url', url, '--max-points', v]),
      (e: unknown) => e instanceof SondeError && /max_points/.test(e.message),
      v,
    );
  }
});

test('sonde graph names the series limit only when series were left out', async () => {
  const file = join(dir, 'x.svg');
  const one = await capture(() => graphCommand(['m.x', ...RANGE, '--url', url, '--limit', '1', '-o', file]));
  assert.match(one.stderr, /\(1 series, more matched: raise --limit\)/);
  const all = await capture(() => graphCommand(['m.x', ...RANGE, '--url', url, '--max-points', '5', '-o', file]));
  // graphs are bucketed: the point cap does not apply, and nothing blames --limit
  assert.match(all.stderr, /\(3 series\)/);
  assert.doesNotMatch(all.stderr, /raise --limit|warning/);
});
