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
