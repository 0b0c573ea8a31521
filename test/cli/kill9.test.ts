import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePort, sondeSpawn, waitFor } from '../helpers/spawn.js';
import type { QueryResult } from '../../src/store/handle.js';

// kill -9 of the agent while points stream in: every point the store had acknowledged (and so the
// query API could already see) is there after a restart, exactly once.
for (const worker of [true, false]) test(`kill -9 during writes loses no acknowledged point (store worker = ${worker})`, { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-kill9-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(cfg, `[agent]\ninterval = "1s"\ndata_dir = "data"\nself_metrics = false\n[store]\nworker = ${worker}\n[http]\nlisten = "127.0.0.1:${port}"\n[[inputs.load]]\n`);
  const base = `http://127.0.0.1:${port}`;
  // every agent this test starts is killed when it ends, however it ends (a timeout included)
  const agents: ReturnType<typeof sondeSpawn>[] = [];
  t.after(async () => {
    writing = false;
    for (const x of agents) {
      if (x.child.exitCode === null && x.child.signalCode === null) {
        x.child.kill('SIGKILL');
        await exited(x.child);
      }
    }
  });
  const start = async () => {
    const a = sondeSpawn(['run', '-c', cfg]);
    agents.push(a);
    await waitFor(() => a.out.stdout.includes('stop with Ctrl-C'), 20_000, 'agent start');
    return a;
  };
  const visible = async (): Promise<number[]> => {
    const r = await fetch(`${base}/api/v1/query?name=test.kill9&start=${t0 - 60_000}&end=${Date.now() + 60_000}`);
    const q = (await r.json()) as QueryResult;
    return (q.series[0]?.values ?? []).filter((v): v is number => v !== null);
  };

  const t0 = Date.now();
  let writing = true;
  let a = await start();
  let seq = 0;
  const writer = (async () => {
    while (writing) {
      const batch = Array.from({ length: 50 }, () => ({ name: 'test.kill9', value: seq, ts: t0 + seq++ }));
      try {
        await fetch(`${base}/api/v1/write`, { method: 'POST', body: JSON.stringify(batch), signal: AbortSignal.timeout(5000) });
      } catch {
        /* the agent is gone: keep going until told to stop */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let seen: number[] = [];
  await waitFor(async () => (seen = await visible()).length >= 2000, 30_000, '2000 acknowledged points');
  seen = await visible();
  a.child.kill('SIGKILL');
  await exited(a.child);
  writing = false;
  await writer;
  assert.ok(seen.length >= 2000);

  a = await start();
  const after = await visible();
  const set = new Set(after);
  assert.equal(set.size, after.length, 'no duplicates after replay');
  const missing = seen.filter((v) => !set.has(v));
  assert.deepEqual(missing, [], `all ${seen.length} acknowledged points survive kill -9`);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});

// Influx writes at ~1,000 points/s, agent killed with -9: every point whose write was answered 204 is
// there after a restart (the answer comes after the store's WAL append, not when the pipeline took it).
test('kill -9 right after acknowledged Influx writes loses nothing acknowledged', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-kill9-ack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const influxPort = await freePort();
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(
    cfg,
    `[agent]\ninterval = "1s"\ndata_dir = "data"\nself_metrics = false\n[http]\nlisten = "127.0.0.1:${port}"\n[[inputs.influxdb]]\nlisten = "127.0.0.1:${influxPort}"\n`,
  );
  const base = `http://127.0.0.1:${port}`;
  const start = async () => {
    const a = sondeSpawn(['run', '-c', cfg]);
    t.after(() => a.child.kill('SIGKILL'));
    await waitFor(() => a.out.stdout.includes('stop with Ctrl-C'), 20_000, 'agent start');
    return a;
  };
  const t0 = Date.now() - 600_000;
  let a = await start();
  const acked: number[] = [];
  let seq = 0;
  let writing = true;
  t.after(() => (writing = false)); // a failed wait must not leave the writers running
  // 20 points every 20 ms, two writers: about 1,000-2,000 points/s
  const writer = async () => {
    while (writing) {
      const vals = Array.from({ length: 20 }, () => seq++);
      const body = vals.map((v) => `kill9ack value=${v} ${t0 + v}`).join('\n');
      try {
        const r = await fetch(`http://127.0.0.1:${influxPort}/write?db=x&precision=ms`, { method: 'POST', body });
        await r.arrayBuffer();
        if (r.status === 204) acked.push(...vals);
      } catch {
        /* the agent is gone */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const writers = [writer(), writer()];
  await waitFor(() => acked.length >= 3000, 30_000, '3000 acknowledged points');
  a.child.kill('SIGKILL');
  await exited(a.child);
  writing = false;
  await Promise.all(writers);
  const ackedAtKill = [...acked];

  a = await start();
  const r = await fetch(`${base}/api/v1/query?name=kill9ack&start=${t0 - 1000}&end=${t0 + seq + 1000}&max_points=1000000`);
  const q = (await r.json()) as QueryResult;
  const got = new Set((q.series[0]?.values ?? []).filter((v): v is number => v !== null));
  const missing = ackedAtKill.filter((v) => !got.has(v));
  assert.deepEqual(missing.slice(0, 20), [], `all ${ackedAtKill.length} acknowledged points survive kill -9 (${missing.length} missing)`);
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0);
});
