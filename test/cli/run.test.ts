import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePort, sondeSpawn, sondeSync, waitFor } from '../helpers/spawn.js';
import type { QueryResult } from '../../src/store/handle.js';
import { builtinRegistry } from '../../src/plugins.js';

/** The default inputs, spelled out, with the statsd receiver on a free port (tests run in parallel). */
async function defaultInputsToml(): Promise<string> {
  return (await builtinRegistry())
    .list('input')
    .filter((s) => s.defaultEnabled)
    .map((s) => (s.name === 'statsd' ? `[[inputs.statsd]]\nudp = "127.0.0.1:0"\n` : `[[inputs.${s.name}]]\n`))
    .join('');
}

/** `cpu.time{cpu=total,mode=user}` straight from /proc/stat, in seconds. */
function procUserSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  return Number(line.trim().split(/\s+/)[1]) / 100;
}

test('sonde run: banner, host metrics stored and queryable, values agree with /proc/stat, clean SIGTERM', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const cfg = join(dir, 'sonde.toml');
  // a short interval so the test sees several gathers; everything else default
  writeFileSync(cfg, `[agent]\ninterval = "1s"\nflush_interval = "1s"\ndata_dir = "data"\n[http]\nlisten = "127.0.0.1:${port}"\n${await defaultInputsToml()}`);
  const before = procUserSeconds();
  const t0 = Date.now();
  const { child, out } = sondeSpawn(['run', '-c', cfg]);
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => out.stdout.includes('stop with Ctrl-C'), 15_000, 'the banner');
  assert.ok(Date.now() - t0 < 15_000, 'banner within 15 s');
  assert.match(out.stdout, /collects: .*cpu/);
  assert.match(out.stdout, new RegExp(`http api: http://127\\.0\\.0\\.1:${port}/`));
  assert.match(out.stdout, new RegExp(`data dir: +${join(dir, 'data').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  const url = `http://127.0.0.1:${port}/`;
  const query = (name: string): QueryResult => {
    const r = sondeSync(['query', name, '--since', '5m', '--json', '--url', url]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as QueryResult;
  };
  await waitFor(() => {
    const r = query('cpu.time');
    const s = r.series.find((x) => x.tags['cpu'] === 'total' && x.tags['mode'] === 'user');
    return (s?.values.length ?? 0) >= 4;
  }, 30_000, 'four cpu.time samples');
  const res = query('cpu.*');
  const after = procUserSeconds();
  const user = res.series.find((s) => s.name === 'cpu.time' && s.tags['cpu'] === 'total' && s.tags['mode'] === 'user');
  assert.ok(user, 'cpu.time{cpu=total,mode=user} stored');
  const vals = user.values.filter((v): v is number => v !== null);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i] as number;
    assert.ok(v >= before - 0.011 && v <= after + 0.011, `stored ${v} within /proc/stat [${before}, ${after}]`);
    if (i > 0) assert.ok(v >= (vals[i - 1] as number), 'counter never decreases');
  }
  assert.ok(user.timestamps.every((ts) => ts >= t0 - 1000 && ts <= Date.now()), 'timestamps in the window');
  assert.ok(res.series.some((s) => s.name === 'cpu.usage'), 'cpu.usage derived');
  assert.ok(res.series.every((s) => s.tags['host']), 'host tag on every series');
  for (const name of ['mem.used', 'disk.used', 'net.rx_bytes', 'load.1', 'sonde.points_gathered']) {
    assert.ok(query(name).series.length > 0, `${name} series exist`);
  }

  const st = sondeSync(['status', '--url', url]);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /inputs\.cpu/);
  assert.match(st.stdout, /outputs\.store/);
  // worker = "auto": a store this small stays on the agent's thread
  assert.match(st.stdout, /store: \d+ series, .* on the agent's thread/);

  child.kill('SIGTERM');
  const code = await Promise.race([exited(child), new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
  assert.equal(code, 0, out.stderr);
  assert.match(out.stderr, /stopped cleanly/);
  assert.equal(existsSync(join(dir, 'data', 'agent.pid')), false, 'lock released');

  // after the agent stopped, query reads the store directly
  const offline = sondeSync(['query', 'cpu.time', '--tag', 'cpu=total', '--tag', 'mode=user', '--since', '5m', '--json', '-c', cfg], { cwd: dir });
  assert.equal(offline.status, 0, offline.stderr);
  const off = JSON.parse(offline.stdout) as QueryResult;
  assert.ok((off.series[0]?.values.length ?? 0) >= vals.length, 'all points persisted across shutdown');
});

test('a second agent on the same data dir is refused', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [p1, p2] = [await freePort(), await freePort()];
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(cfg, await defaultInputsToml());
  const a = sondeSpawn(['run', '-c', cfg, '-d', dir, '-l', `127.0.0.1:${p1}`]);
  t.after(() => a.child.kill('SIGKILL'));
  await waitFor(() => a.out.stdout.includes('stop with Ctrl-C'), 15_000, 'first agent');
  const b = sondeSync(['run', '-c', cfg, '-d', dir, '-l', `127.0.0.1:${p2}`]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /another sonde agent \(pid \d+\) is using/);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});
