/**
 * The data-dir lock dies with its process: a holder killed with -9 frees it at once, even while it is
 * an unreaped zombie whose pid still answers kill(0) (what a pid check would take for a live agent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirLock, DirLockedError } from '../../src/core/dir-lock.js';
import { TSX, waitFor } from '../helpers/spawn.js';

const HOLDER = fileURLToPath(new URL('./fixtures/dir-lock-holder.ts', import.meta.url));

function procState(pid: number): string | undefined {
  try {
    // "pid (comm) S ...": the state follows the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function threads(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

test('a second holder in the same process is refused, naming the holder; release frees it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = DirLock.acquire(dir);
  t.after(() => a.release());
  assert.throws(
    () => DirLock.acquire(dir),
    (e: unknown) => e instanceof DirLockedError && e.pid === process.pid && /another sonde agent \(pid \d+\) is using/.test(e.message),
  );
  a.release();
  const b = DirLock.acquire(dir);
  b.release();
});

test('a stale pid file of a live unrelated process does not block', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // pid 1 is always alive: an old pid file left by a crash whose pid was reused
  writeFileSync(join(dir, 'agent.pid'), '1');
  const l = DirLock.acquire(dir);
  assert.equal(readFileSync(join(dir, 'agent.pid'), 'utf8'), String(process.pid));
  l.release();
});

test('kill -9 of the holder frees the lock at once, before the holder is reaped', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // `sh` starts the holder in the background and becomes `sleep`, which never reaps it: once killed,
  // the holder stays a zombie while this test runs.
  const parent = spawn('sh', ['-c', `"${process.execPath}" --import "${TSX}" "${HOLDER}" "${dir}" & exec sleep 300`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => parent.kill('SIGKILL'));
  let out = '';
  parent.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /locked \d+/.test(out), 30_000, 'the holder to take the lock');
  const pid = Number(/locked (\d+)/.exec(out)?.[1]);
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  assert.throws(() => DirLock.acquire(dir), DirLockedError, 'held while the holder runs');
  const t0 = Date.now();
  assert.throws(() => DirLock.acquire(dir, 300), DirLockedError, 'still held after waiting');
  assert.ok(Date.now() - t0 >= 250, 'waited for the holder');
  process.kill(pid, 'SIGKILL');
  // a zombie whose threads have all exited (the leader shows Z while the others still unwind)
  await waitFor(() => procState(pid) === 'Z' && threads(pid) <= 1, 10_000, 'the holder to be a zombie');
  assert.doesNotThrow(() => process.kill(pid, 0), 'the zombie pid still answers kill(0)');
  const l = DirLock.acquire(dir);
  l.release();
});
