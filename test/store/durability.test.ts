/** kill -9 durability: every acknowledged point survives a hard kill of the writing process, once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tsdb } from '../../src/store/tsdb.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const writer = fileURLToPath(new URL('./fixtures/kill-writer.ts', import.meta.url));
const T0 = 1_699_999_200_000;

function runAndKill(dir: string, first: number, killAfter: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(first)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let last = -1;
    let killed = false;
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not reach ${killAfter} acks in time: ${stderr}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^ack (\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m) last = Number(m[1]);
      }
      if (!killed && last >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself: ${stderr}`));
      else resolve(last);
    });
  });
}

test('acknowledged points survive kill -9, without duplicates', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-kill-'));
  try {
    // Two rounds on the same store: the second starts on a store recovered once already, a little
    // past the first round's last ack (batches written but never acknowledged may or may not be there).
    const acked: number[] = [];
    let first = 0;
    for (let round = 0; round < 2; round++) {
      const killAfter = first + 100 + Math.floor(Math.random() * 100);
      const last = await runAndKill(dir, first, killAfter);
      assert.ok(last >= killAfter);
      for (let n = first; n <= last; n++) acked.push(n);
      const db = Tsdb.open(dir);
      const res = db.querySync({ name: 'k', start: T0, end: T0 + 10_000 * 60_000 });
      assert.equal(res.series.length, 20);
      for (const s of res.series) {
        const sid = Number(s.tags['s']);
        const byTs = new Map<number, number>();
        s.timestamps.forEach((t, i) => {
          assert.ok(!byTs.has(t), `series ${sid}: duplicate timestamp ${t}`);
          byTs.set(t, s.values[i] as number);
        });
        for (const n of acked) assert.equal(byTs.get(T0 + n * 60_000), n * 1000 + sid, `series ${sid} batch ${n}`);
      }
      db.closeSync();
      first = last + 50;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
