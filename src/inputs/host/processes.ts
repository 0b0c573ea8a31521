/**
 * The `processes` collector: processes by scheduler state and the total thread count, from
 * /proc/[pid]/stat of every process. Processes that exit while being read are simply not counted.
 */
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { defineInput } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { HostFiles, errorCode, guarded, num } from './common.js';

/** State letters of /proc/[pid]/stat (fs/proc/array.c) and their metric tag values. */
export const PROCESS_STATES: Readonly<Record<string, string>> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk_sleep',
  Z: 'zombie',
  T: 'stopped',
  t: 'tracing_stop',
  X: 'dead',
  x: 'dead',
  I: 'idle',
  W: 'paging',
  P: 'parked',
  K: 'wakekill',
};

/** States always reported, zero or not, so their series do not come and go. */
const ALWAYS = ['running', 'sleeping', 'disk_sleep', 'zombie', 'stopped', 'idle'];

export interface PidStat {
  /** Tag value of the state (`unknown` for a letter this code does not know). */
  state: string;
  threads: number;
}

/**
 * Parses /proc/[pid]/stat. The command name sits in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last `)`.
 */
export function parsePidStat(text: string): PidStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 1).trim().split(/\s+/);
  const letter = f[0];
  // After the name: state(3) ppid(4) ... num_threads(20), so num_threads is the 18th.
  const threads = num(f[17]);
  if (letter === undefined || letter.length !== 1 || threads === undefined || threads < 0) return undefined;
  return { state: PROCESS_STATES[letter] ?? 'unknown', threads };
}

// Many small reads in flight keep the libuv pool busy; measured best around 64 on a 2-core host.
const WORKERS = 64;
const READ_BYTES = 1024;

const VANISHED = new Set(['ENOENT', 'ESRCH']);

export default defineInput({
  name: 'processes',
  description: 'Processes by state and total threads (/proc/[pid]/stat)',
  schema: z.object({}),
  defaultEnabled: true,
  create(_config, ctx) {
    const files = new HostFiles(ctx);
    const proc = ctx.paths.proc;

    /** One stat file: its text, or undefined when the process is gone or the read failed. */
    const readStat = async (path: string, buf: Buffer): Promise<string | undefined> => {
      let fh: Awaited<ReturnType<typeof open>> | undefined;
      try {
        fh = await open(path, 'r');
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        // A stat line longer than the buffer is rare (long kernel thread names); read it whole.
        if (bytesRead === buf.length) return await readFile(path, 'utf8');
        return buf.toString('utf8', 0, bytesRead);
      } catch (err) {
        if (!VANISHED.has(errorCode(err) ?? '')) files.failed(path, err);
        return undefined;
      } finally {
        await fh?.close().catch(() => undefined);
      }
    };

    return {
      gather: guarded(ctx, async (now) => {
        let names: string[];
        try {
          names = await readdir(proc);
        } catch (err) {
          files.failed(proc, err);
          return [];
        }
        const pids = names.filter((n) => /^\d+$/.test(n));
        const counts = new Map<string, number>(ALWAYS.map((s) => [s, 0]));
        let total = 0;
        let threads = 0;
        let malformed = 0;
        let next = 0;
        // A few workers share the pid list, each with its own buffer: bounded parallel reads.
        const worker = async (): Promise<void> => {
          const buf = Buffer.allocUnsafe(READ_BYTES);
          while (next < pids.length) {
            const pid = pids[next++] as string;
            const text = await readStat(join(proc, pid, 'stat'), buf);
            if (text === undefined) continue;
            const s = parsePidStat(text);
            if (!s) {
              malformed++;
              continue;
            }
            total++;
            threads += s.threads;
            counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
          }
        };
        await Promise.all(Array.from({ length: Math.min(WORKERS, pids.length) }, worker));
        if (malformed > 0) files.malformed(join(proc, '[pid]', 'stat'), [`${malformed} unparsable stat files`]);
        const out: Point[] = [];
        for (const [state, n] of counts) out.push(point('processes.count', n, now, 'gauge', { state }));
        out.push(point('processes.total', total, now));
        out.push(point('processes.threads', threads, now));
        return out;
      }),
    };
  },
});
