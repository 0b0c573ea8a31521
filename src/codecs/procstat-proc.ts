/**
 * The per-process files of /proc the `procstat` input reads, as values: /proc/[pid]/stat (cpu times,
 * faults, threads, memory), /proc/[pid]/status (real uid, context switches, VmRSS), /proc/[pid]/io
 * (bytes and syscalls), /proc/[pid]/cmdline, and the pid lists of cgroup.procs and pid files. Pure:
 * text in, values out; a malformed file gives undefined, never a throw.
 */

export interface ProcStat {
  /** The command name (comm), as the kernel shows it between the parentheses. */
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly minorFaults: number;
  readonly majorFaults: number;
  /** Clock ticks (USER_HZ) in user and kernel mode. */
  readonly utime: number;
  readonly stime: number;
  readonly threads: number;
  /** Start time after boot, in clock ticks. */
  readonly starttime: number;
  /** Virtual memory size, bytes. */
  readonly vsize: number;
  /** Resident set size, pages. */
  readonly rssPages: number;
}

/**
 * Parses /proc/[pid]/stat. The command name is between the first `(` and the last `)`, and may hold
 * spaces and parentheses itself; the fields after it are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 1).trim().split(/\s+/);
  // f[0] is field 3 (state); field N is f[N - 3]
  if (f.length < 22) return undefined;
  const n = (field: number): number | undefined => {
    const s = f[field - 3];
    if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
    return Number(s);
  };
  const vals = [n(4), n(10), n(12), n(14), n(15), n(20), n(22), n(23), n(24)];
  if (vals.some((v) => v === undefined)) return undefined;
  const [ppid, minflt, majflt, utime, stime, threads, starttime, vsize, rss] = vals as number[];
  return {
    comm: text.slice(open + 1, close),
    state: f[0] as string,
    ppid: ppid as number,
    minorFaults: minflt as number,
    majorFaults: majflt as number,
    utime: utime as number,
    stime: stime as number,
    threads: threads as number,
    starttime: starttime as number,
    vsize: vsize as number,
    rssPages: rss as number,
  };
}

export interface ProcStatus {
  /** Real uid (first of the Uid: line). */
  readonly uid?: number;
  /** Bytes (the file says kB). */
  readonly vmRss?: number;
  readonly vmSwap?: number;
  readonly voluntaryCtxtSwitches?: number;
  readonly nonvoluntaryCtxtSwitches?: number;
}

/** Parses the lines of /proc/[pid]/status that procstat uses. */
export function parseProcStatus(text: string): ProcStatus {
  const out: { -readonly [K in keyof ProcStatus]: ProcStatus[K] } = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const rest = line.slice(colon + 1).trim();
    const first = rest.split(/\s+/)[0] ?? '';
    if (!/^\d+$/.test(first)) continue;
    const v = Number(first);
    switch (key) {
      case 'Uid':
        out.uid = v;
        break;
      case 'VmRSS':
        out.vmRss = v * 1024;
        break;
      case 'VmSwap':
        out.vmSwap = v * 1024;
        break;
      case 'voluntary_ctxt_switches':
        out.voluntaryCtxtSwitches = v;
        break;
      case 'nonvoluntary_ctxt_switches':
        out.nonvoluntaryCtxtSwitches = v;
        break;
    }
  }
  return out;
}

export interface ProcIo {
  readonly rchar: number;
  readonly wchar: number;
  readonly syscr: number;
  readonly syscw: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly cancelledWriteBytes: number;
}

const IO_KEYS: Record<string, keyof ProcIo> = {
  rchar: 'rchar',
  wchar: 'wchar',
  syscr: 'syscr',
  syscw: 'syscw',
  read_bytes: 'readBytes',
  write_bytes: 'writeBytes',
  cancelled_write_bytes: 'cancelledWriteBytes',
};

/** Parses /proc/[pid]/io; undefined when a field is missing or not a number. */
export function parseProcIo(text: string): ProcIo | undefined {
  const out: Partial<Record<keyof ProcIo, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+):\s*(\d+)\s*$/.exec(line);
    if (!m) continue;
    const k = IO_KEYS[m[1] as string];
    if (k) out[k] = Number(m[2]);
  }
  for (const k of Object.values(IO_KEYS)) if (out[k] === undefined) return undefined;
  return out as ProcIo;
}

/** /proc/[pid]/cmdline: NUL-separated arguments joined with spaces (empty for kernel threads). */
export function parseCmdline(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8').replace(/\0/g, ' ');
}

/** Pids of a cgroup.procs file or a pid file: one positive integer per line; others ignored. */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n > 0 && Number.isSafeInteger(n)) out.push(n);
    }
  }
  return out;
}

/** The uid of `name` in an /etc/passwd text, or undefined. */
export function uidOf(passwd: string, name: string): number | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}
