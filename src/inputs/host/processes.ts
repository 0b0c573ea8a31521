/**
 * The `processes` collector: processes by scheduler state and the total thread count, from
 * /proc/[pid]/stat of every process. Processes that exit while being read are simply not counted.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { point, type Point } from '../../model/point.js';
import { defineHostInput, errorCode, readHostBytes } from './common.js';

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
  const b = Buffer.from(text, 'latin1');
  return parsePidStatBytes(b, b.length);
}

const SPACE = 0x20;
const CLOSE = 0x29;

/**
 * `parsePidStat` on the first `n` bytes of `buf`, without making strings: every field it needs is
 * ASCII, whatever bytes the command name holds. Fields are single-space separated as the kernel
 * writes them; runs of blanks are tolerated.
 */
export function parsePidStatBytes(buf: Uint8Array, n: number): PidStat | undefined {
  let close = n - 1;
  while (close >= 0 && buf[close] !== CLOSE) close--;
  if (close < 0) return undefined;
  let i = close + 1;
  const isBlank = (c: number | undefined): boolean => c === SPACE || c === 0x0a || c === 0x09 || c === 0x0d;
  while (i < n && isBlank(buf[i])) i++;
  // state: one letter followed by a blank (or the end)
  if (i >= n || (i + 1 < n && !isBlank(buf[i + 1]))) return undefined;
  const letter = String.fromCharCode(buf[i] as number);
  // After the name: state(3) ppid(4) ... num_threads(20), 17 fields after the state.
  for (let field = 0; field < 17; field++) {
    while (i < n && !isBlank(buf[i])) i++;
    while (i < n && isBlank(buf[i])) i++;
    if (i >= n) return undefined;
  }
  let threads = 0;
  let digits = 0;
  for (; i < n && !isBlank(buf[i]); i++, digits++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return undefined;
    threads = threads * 10 + d;
  }
  if (digits === 0) return undefined;
  return { state: PROCESS_STATES[letter] ?? 'unknown', threads };
}

// Pids read between two turns of the event loop: each is a few quick syscalls on procfs (open, read,
// close; about 10 us in all), so a host with thousands of processes never holds the loop for long.
const SLICE = 256;

const VANISHED = new Set(['ENOENT', 'ESRCH']);

export default defineHostInput({
  name: 'processes',
  description: 'Processes by state and total threads (/proc/[pid]/stat)',
  create(_config, { files, paths }) {
    const proc = paths.proc;

    /** One stat file parsed, `null` when the process is gone or the read failed, undefined if malformed. */
    const readStat = (path: string): PidStat | null | undefined => {
      try {
        const b = readHostBytes(path);
        return parsePidStatBytes(b, b.length);
      } catch (err) {
        if (!VANISHED.has(errorCode(err) ?? '')) files.failed(path, err);
        return null;
      }
    };

    return async (now) => {
      let names: string[];
      try {
        names = await readdir(proc);
      } catch (err) {
        files.failed(proc, err);
        return [];
      }
      const counts = new Map<string, number>(ALWAYS.map((s) => [s, 0]));
      let total = 0;
      let threads = 0;
      let malformed = 0;
      // Synchronous reads on procfs: the async API costs ~10 KB of promises and handles per
      // process (an idle agent's largest source of garbage) and does not make procfs any faster.
      let inSlice = 0;
      for (const name of names) {
        const c = name.charCodeAt(0);
        if (c < 0x30 || c > 0x39 || !/^\d+$/.test(name)) continue;
        if (++inSlice > SLICE) {
          inSlice = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const s = readStat(join(proc, name, 'stat'));
        if (s === null) continue;
        if (s === undefined) {
          malformed++;
          continue;
        }
        total++;
        threads += s.threads;
        counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
      }
      if (malformed > 0) files.malformed(join(proc, '[pid]', 'stat'), [`${malformed} unparsable stat files`]);
      const out: Point[] = [];
      for (const [state, n] of counts) out.push(point('processes.count', n, now, 'gauge', { state }));
      out.push(point('processes.total', total, now));
      out.push(point('processes.threads', threads, now));
      return out;
    };
  },
});
