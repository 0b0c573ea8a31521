import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePort, sondeSpawn, sondeSync, waitFor } from '../helpers/spawn.js';
import type { QueryResult } from '../../src/store/handle.js';

/** What a newcomer does first: one input listed, a flag for the statsd address, a busy default port. */

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-first-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function query(url: string, name: string): QueryResult {
  const r = sondeSync(['query', name, '--since', '5m', '--json', '--url', url]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as QueryResult;
}

async function stop(child: ReturnType<typeof sondeSpawn>['child']): Promise<number | null> {
  child.kill('SIGTERM');
  return Promise.race([exited(child), new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
}

test('a config listing only statsd keeps the host collectors; --statsd sets its address', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const udp = await freeUdpPort();
  const cfg = join(dir, 'sonde.toml');
  // the file says one port; the flag wins
  writeFileSync(cfg, `[agent]\ninterval = "1s"\nflush_interval = "1s"\n[[inputs.statsd]]\nudp = "127.0.0.1:1"\n`);
  const { child, out } = sondeSpawn(['run', '-c', cfg, '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--statsd', `127.0.0.1:${udp}`]);
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => out.stdout.includes('stop with Ctrl-C'), 20_000, 'the banner');
  assert.match(out.stdout, /collects: .*cpu .*memory/);
  assert.match(out.stdout, new RegExp(`inputs\\.statsd: .*127\\.0\\.0\\.1:${udp}`));
  const url = `http://127.0.0.1:${port}/`;
  const sock = createSocket('udp4');
  t.after(() => sock.close());
  await waitFor(async () => {
    await new Promise<void>((r) => sock.send('first.hour:1|c', udp, '127.0.0.1', () => r()));
    return query(url, 'first.hour.count').series.length > 0 && query(url, 'cpu.usage').series.length > 0;
  }, 20_000, 'the statsd counter and cpu.usage in the store');
  assert.equal(await stop(child), 0, out.stderr);
});

test('zero-config inputs with 8125 taken: logged once, the rest runs, status shows it', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  // hold the default statsd port (wait while another test has it: then it is busy anyway, but may free)
  let holder: Socket | undefined;
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = createSocket('udp4');
        s.once('error', () => s.close(() => resolve(false)));
        s.bind(8125, '127.0.0.1', () => {
          holder = s;
          resolve(true);
        });
      }),
    20_000,
    'udp 127.0.0.1:8125 to hold',
  );
  t.after(() => holder?.close());
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(cfg, `[agent]\ninterval = "1s"\nflush_interval = "1s"\ndata_dir = "data"\n[http]\nlisten = "127.0.0.1:${port}"\n`);
  const { child, out } = sondeSpawn(['run', '-c', cfg]);
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => out.stdout.includes('stop with Ctrl-C'), 20_000, 'the banner');
  assert.match(out.stdout, /warning: +cannot listen on udp 127\.0\.0\.1:8125.*inputs\.statsd is not running/);
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(() => query(url, 'cpu.usage').series.length > 0, 20_000, 'cpu.usage stored');
  const st = sondeSync(['status', '--url', url, '--json']);
  const doc = JSON.parse(st.stdout) as { warnings: Array<{ id: string; message: string }> };
  assert.deepEqual(doc.warnings.map((w) => w.id), ['inputs.statsd']);
  // the dashboard's bootstrap carries it too (shown above every page)
  const ui = (await (await fetch(`${url}api/v1/ui`)).json()) as { warnings: Array<{ id: string; message: string }> };
  assert.deepEqual(ui.warnings.map((w) => w.id), ['inputs.statsd']);
  const human = sondeSync(['status', '--url', url]);
  assert.match(human.stdout, /warning: cannot listen on udp 127\.0\.0\.1:8125/);
  assert.equal(await stop(child), 0, out.stderr);
  assert.equal(out.stderr.match(/default input not started/g)?.length, 1, 'logged once');
});

test('run rejects what config check rejects, with the same words, before opening anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-first-'));
  try {
    const data = join(dir, 'data');
    const f = join(dir, 'bad.toml');
    writeFileSync(
      f,
      `[agent]\ndata_dir = "${data}"\n[http]\nlisten = "0.0.0.0:8470"\n[[inputs.statsd]]\nudp = "127.0.0.1:99999"\n[[outputs.influxdb]]\nurl = "influx:8086"\ndatabase = "m"\n`,
    );
    const check = sondeSync(['config', 'check', f]);
    const run = sondeSync(['run', '-c', f]);
    assert.equal(check.status, 1);
    assert.equal(run.status, 1);
    for (const re of [/http\.listen: .*without authentication/, /inputs\.statsd\[0\]\.udp: port 99999/, /outputs\.influxdb\[0\]\.url: "influx:8086" has no scheme/]) {
      assert.match(check.stderr, re);
    }
    assert.equal(run.stderr, check.stderr, 'the same message from both');
    assert.equal(existsSync(data), false, 'no data dir, no store opened');

    // a flag's bad value is named by the flag
    const ok = join(dir, 'ok.toml');
    writeFileSync(ok, `[agent]\ndata_dir = "${data}"\n`);
    const r = sondeSync(['run', '-c', ok, '--listen', '0.0.0.0:1', '--statsd', 'localhost']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^--listen: http\.listen: .*without authentication/m);
    assert.match(r.stderr, /^--statsd: inputs\.statsd\[0\]\.udp: "localhost" is not host:port/m);
    assert.equal(existsSync(data), false);

    // a TOML syntax error: line, column and a caret
    writeFileSync(f, `[agent]\ninterval = "10s"\nlog_level = = 3\n`);
    const syn = sondeSync(['config', 'check', f]);
    assert.equal(syn.status, 1);
    assert.match(syn.stderr, /bad\.toml:3: invalid TOML: .*\(line 3, column 13\)\n  2 \| interval = "10s"\n  3 \| log_level = = 3\n    \|             \^/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run --test with --input-filter prints one gather through the processors and opens nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-first-'));
  try {
    const data = join(dir, 'data');
    const f = join(dir, 'sonde.toml');
    writeFileSync(f, `[agent]\ndata_dir = "${data}"\n[[inputs.exec]]\ninterval = "1s"\ncommands = [["sh", "-c", "echo first.exec $(date +%s) 7"]]\n[[processors.tags]]\nadd = { stage = "test" }\n[[outputs.influxdb]]\nurl = "http://127.0.0.1:1"\ndatabase = "m"\n`);
    const r = sondeSync(['run', '-c', f, '--test', '--input-filter', 'cpu:load']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.length > 5, r.stdout);
    const measurements = new Set(lines.map((l) => l.split(/[, ]/)[0]));
    // (the cpu input also reports forks from /proc/stat as processes.created)
    assert.ok(measurements.has('cpu') && measurements.has('load'), [...measurements].join());
    assert.ok([...measurements].every((m) => m === 'cpu' || m === 'load' || m === 'processes'), `only the filtered inputs: ${[...measurements].join()}`);
    assert.ok(!lines.some((l) => l.startsWith('mem,')));
    assert.ok(lines.every((l) => /(^|,)stage=test[, ]/.test(l)), 'the processor ran');
    // cpu usage is a difference of two samples: --test samples twice
    assert.ok(lines.some((l) => /^cpu,cpu=total,.*mode=idle.* usage=\d/.test(l)), 'cpu usage present');
    assert.ok(lines.every((l) => /^[a-z.]+(,[^ ]+)? [a-z_0-9]+=[-0-9.e+]+i? \d{19}$/.test(l)), 'line protocol with ns timestamps');
    assert.equal(existsSync(data), false, 'no data dir');

    const j = sondeSync(['run', '-c', f, '--test', '--input-filter', 'load', '--format', 'json']);
    assert.equal(j.status, 0, j.stderr);
    const pts = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; tags: Record<string, string>; value: number });
    assert.ok(pts.some((p) => p.name === 'load.1' && typeof p.value === 'number' && p.tags['stage'] === 'test'));

    // a listed input runs too (here a collector script)
    const skip = sondeSync(['run', '-c', f, '--test', '--input-filter', 'exec']);
    assert.equal(skip.stdout, '');
    assert.match(skip.stderr, /--test skips .*inputs\.exec/);
    const ex = sondeSync(['run', '-c', f, '--test', '--input-filter', 'exec', '--test-wait', '3s']);
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /^first,.*stage=test.* exec=7i \d{19}$/m);

    const none = sondeSync(['run', '-c', f, '--test', '--output-filter', 'graphite']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--output-filter: graphite not in the config\n  hint: the config has: store, influxdb/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
