/** `sonde graph` against a dashboard fixture server: SVG on stdout, PNG by extension, usage errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { graphCommand } from '../../src/cli/graph.js';
import { SondeError } from '../../src/errors.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/dashboard/server.js';

let srv: FixtureServer;
let out: string;

before(async () => {
  srv = await startFixtureServer();
  out = mkdtempSync(join(tmpdir(), 'sonde-graph-'));
});
after(async () => {
  await srv.close();
  rmSync(out, { recursive: true, force: true });
});

/** Runs the command with stdout and stderr captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  // only the command's own output is captured: the test reporter writes other chunks meanwhile
  process.stdout.write = ((c: string | Uint8Array, ...rest: unknown[]) => {
    const s = String(c);
    if (s.startsWith('<svg') || stdout !== '') stdout += s;
    else return (ow as (...a: unknown[]) => boolean)(c, ...rest);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await graphCommand(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

test('sonde graph writes an SVG of the query to stdout', async () => {
  const r = await run(['cpu.usage', '--tag', 'mode=user', '--tag', 'cpu=total', '--since', '1h', '--step', '1m', '-o', '-', '--url', srv.url]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^<svg /);
  const labels = [...r.stdout.matchAll(/<path class="series" data-label="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(labels, ['cpu.usage{cpu=total,host=alpha,mode=user}', 'cpu.usage{cpu=total,host=beta,mode=user}']);
  assert.match(r.stdout, /<text class="title"[^>]*>cpu.usage (mode=user cpu=total|cpu=total mode=user)<\/text>/);
  // one minute steps over an hour: about 60 vertices per line
  const d = /<path class="series"[^>]* d="([^"]+)"/.exec(r.stdout)?.[1] ?? '';
  const vertices = (d.match(/[ML]/g) ?? []).length;
  assert.ok(vertices >= 55 && vertices <= 62, String(vertices));
});

test('sonde graph writes PNG by extension, with a valid header and data', async () => {
  const file = join(out, 'load.png');
  const r = await run(['load.1', '--since', '2h', '-o', file, '--url', srv.url, '--width', '640', '--height', '300', '--theme', 'dark']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /wrote .*load\.png \(2 series\)/);
  const png = readFileSync(file);
  assert.equal(png.toString('latin1', 1, 4), 'PNG');
  assert.equal(png.readUInt32BE(16), 640);
  assert.equal(png.readUInt32BE(20), 300);
  const idatAt = png.indexOf('IDAT');
  const raw = inflateSync(png.subarray(idatAt + 4, idatAt + 4 + png.readUInt32BE(idatAt - 4)));
  assert.equal(raw.length, (640 * 3 + 1) * 300);
  // dark background in the top-left corner (row 0 is unfiltered relative to zeros)
  assert.deepEqual([...raw.subarray(1, 4)], [0x0d, 0x11, 0x17]);
  const svgFile = join(out, 'x.svg');
  assert.equal((await run(['load.*', '-o', svgFile, '--url', srv.url, '--group-by', '', '--group-agg', 'max'])).code, 0);
  assert.equal((readFileSync(svgFile, 'utf8').match(/class="series"/g) ?? []).length, 3);
});

test('sonde graph refuses unknown formats and bad sizes with usage errors', async () => {
  await assert.rejects(run(['cpu.usage', '-o', join(out, 'x.gif'), '--url', srv.url]), (e: unknown) => e instanceof SondeError && /format/.test(e.message));
  await assert.rejects(run(['cpu.usage', '--width', '10', '--url', srv.url]), (e: unknown) => e instanceof SondeError && /width/.test(e.message));
  await assert.rejects(run(['cpu.usage', '--since', 'soon', '--url', srv.url]), SondeError);
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['--help'])).code, 0);
});

test('short windows draw connected lines at the default step', async () => {
  for (const since of ['5m', '15m']) {
    const r = await run(['cpu.usage', '--tag', 'mode=user', '--tag', 'host=alpha', '--since', since, '-o', '-', '--url', srv.url]);
    assert.equal(r.code, 0);
    const d = /<path class="series"[^>]* d="([^"]+)"/.exec(r.stdout)?.[1] ?? '';
    const moves = (d.match(/M/g) ?? []).length;
    const vertices = (d.match(/[ML]/g) ?? []).length;
    // the fixture has a point every 10 s: the step is never finer, so one unbroken line
    assert.equal(moves, 1, `${since}: one unbroken line, not dots (${d.slice(0, 80)})`);
    assert.ok(vertices >= (since === '5m' ? 25 : 85), `${since}: ${vertices} vertices`);
  }
});

test('units on the value axis from the metric: %, binary bytes, bytes/s', async () => {
  const labels = async (args: string[]) => {
    const r = await run([...args, '--since', '1h', '-o', '-', '--url', srv.url]);
    assert.equal(r.code, 0);
    return [...r.stdout.matchAll(/<text class="tick-y"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1] as string);
  };
  const pct = await labels(['cpu.usage', '--tag', 'mode=user']);
  assert.ok(pct.every((l) => /^\d+(\.\d+)?%$/.test(l)), pct.join(' '));
  const mem = await labels(['mem.used', '--tag', 'host=alpha']);
  assert.ok(mem.every((l) => /^\d+(\.\d+)? GiB$/.test(l) || l === '0 GiB'), mem.join(' '));
  assert.ok(mem.includes('8 GiB') || mem.includes('4 GiB') || mem.includes('2 GiB'), `round binary ticks: ${mem.join(' ')}`);
  const net = await labels(['net.rx_bytes', '--tag', 'iface=eth0', '--agg', 'rate', '--step', '1m']);
  assert.ok(net.every((l) => /^\d+(\.\d+)? (B|KiB|MiB)\/s$/.test(l)), net.join(' '));
});

test('a query that matches nothing exits non-zero with a message', async () => {
  await assert.rejects(
    run(['no.such.metric', '--since', '1h', '-o', join(out, 'none.png'), '--url', srv.url]),
    (e: unknown) => e instanceof SondeError && e.code === 'SONDE_ERR_NO_DATA' && /nothing matches no\.such\.metric/.test(e.message),
  );
  assert.throws(() => readFileSync(join(out, 'none.png')), 'no file written');
});
