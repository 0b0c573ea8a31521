/**
 * One agent per data dir: an exclusive lock that dies with its process.
 *
 * Node has no flock(2); SQLite (better-sqlite3, already the store's engine) takes POSIX advisory locks
 * (fcntl) on its database file, and the kernel drops those the moment the process ends, however it
 * ends (kill -9, OOM, crash; before the parent reaps it). So the lock is a tiny database,
 * `<dir>/agent.lock`, opened with `locking_mode = EXCLUSIVE` and written once: the exclusive lock is
 * then held until the connection closes. A second opener (another process, or another connection in
 * this one) gets SQLITE_BUSY at once. `agent.pid` beside it only names the holder in the message; it is
 * never trusted to decide (a pid can be a zombie, or reused).
 */
import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  constructor(
    readonly dir: string,
    /** The pid recorded by the holder, when it could be read. */
    readonly pid: number | undefined,
  ) {
    super(`another sonde agent${pid !== undefined ? ` (pid ${pid})` : ''} is using ${dir}`);
  }
}

export class DirLock {
  private constructor(
    private db: Database.Database | null,
    private readonly pidFile: string,
  ) {}

  /**
   * Takes the lock of `dir` (which must exist) or throws `DirLockedError`. `waitMs`: how long a held
   * lock is retried (a holder killed a moment ago still holds it until its last thread has exited).
   */
  static acquire(dir: string, waitMs = 0): DirLock {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        return DirLock.tryAcquire(dir);
      } catch (err) {
        if (!(err instanceof DirLockedError) || Date.now() >= until) throw err;
        // a synchronous pause: the agent takes the lock before anything else runs
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
  }

  private static tryAcquire(dir: string): DirLock {
    const pidFile = join(dir, 'agent.pid');
    // no busy timeout: a held lock fails at once instead of waiting
    const db = new Database(join(dir, 'agent.lock'), { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
      db.exec('COMMIT');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        let pid: number | undefined;
        try {
          const n = Number(readFileSync(pidFile, 'utf8').trim());
          if (n > 0) pid = n;
        } catch {
          // no pid written (yet)
        }
        throw new DirLockedError(dir, pid);
      }
      throw err;
    }
    try {
      writeFileSync(pidFile, String(process.pid));
    } catch {
      // only informative
    }
    return new DirLock(db, pidFile);
  }

  get held(): boolean {
    return this.db !== null;
  }

  /** Releases the lock (idempotent). */
  release(): void {
    if (!this.db) return;
    rmSync(this.pidFile, { force: true });
    this.db.close();
    this.db = null;
  }
}
