/**
 * The `procstat` input: cpu, memory, threads, file descriptors, I/O, faults and context switches of the
 * processes one selection names — a pattern on the command line, a process name, a pid file, a systemd
 * unit or cgroup, a user, or several of these together (all must hold). One instance is one selection;
 * configure several for several services. Values are summed over the selected processes (tag
 * `process`), or reported per process with `per_pid = true` (tag `pid` too).
 *
 * Reads /proc through the shared host-file reader of the host collectors (one buffer, synchronous
 * procfs reads, failures counted and logged once per path). A process that exits while it is read is
 * simply left out.
 */
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { SondeError } from '../errors.js';
import { point, type Point, type Tags } from '../model/point.js';
import { HostFiles, errorCode, guarded, readHostBytes, readHostFile, tagValue } from './host/common.js';
import { parseCmdline, parsePidList, parseProcIo, parseProcStat, parseProcStatus, uidOf, type ProcIo, type ProcStat, type ProcStatus } from '../codecs/procstat-proc.js';

/** USER_HZ: the unit of the cpu times in /proc/[pid]/stat, 100 on every Linux architecture. */
const CLK_TCK = 100;
const PAGE = 4096;
const VANISHED = new Set(['ENOENT', 'ESRCH']);
const SLICE = 256;

const schema = z.object({
  name: z.string().default('').describe('Value of the `process` tag; default: the unit, pid file, name or pattern selected'),
  pattern: z.string().default('').describe('Regular expression matched against the full command line (like pgrep -f)'),
  exe: z.string().default('').describe('Regular expression matched against the process name (comm, like pgrep)'),
  pid_file: z.string().default('').describe('File holding the pid (e.g. /run/nginx.pid)'),
  systemd_unit: z.string().default('').describe('Processes in this unit\'s cgroup, e.g. "nginx.service"'),
  cgroup: z.string().default('').describe('Processes in this cgroup (and its children), relative to /sys/fs/cgroup, e.g. "system.slice/nginx.service"'),
  user: z.string().default('').describe('Processes whose real user is this name or uid'),
  per_pid: z.boolean().default(false).describe('One series per process (tag pid) instead of the sum over the selection'),
  fds: z.boolean().default(true).describe('Count open file descriptors (lists /proc/[pid]/fd; needs the same user or root)'),
  io: z.boolean().default(true).describe('Report /proc/[pid]/io counters (needs the same user or root)'),
});

type Config = z.output<typeof schema>;

interface Sample {
  pid: number;
  stat: ProcStat;
  status: ProcStatus;
  io?: ProcIo | undefined;
  fds?: number | undefined;
}

function compile(what: string, src: string): RegExp | undefined {
  if (src === '') return undefined;
  try {
    return new RegExp(src);
  } catch (err) {
    throw new SondeError('SONDE_ERR_CONFIG', `procstat ${what}: not a valid regular expression: ${(err as Error).message}`, `fix \`${what}\``);
  }
}

export default defineInput({
  name: 'procstat',
  description: 'Per-process cpu, memory, threads, fds and I/O of processes selected by pattern, name, pid file, systemd unit, cgroup or user',
  schema,
  create(config: Config, ctx): Input {
    const selectors = ['pattern', 'exe', 'pid_file', 'systemd_unit', 'cgroup', 'user'] as const;
    if (!selectors.some((k) => config[k] !== '')) {
      throw new SondeError('SONDE_ERR_CONFIG', 'procstat needs a selection', `set one of ${selectors.join(', ')} (several must all match)`);
    }
    const pattern = compile('pattern', config.pattern);
    const exe = compile('exe', config.exe);
    const label = config.name || config.systemd_unit || config.cgroup || config.pid_file || config.exe || config.pattern || config.user;
    const baseTags: Tags = Object.freeze({ process: tagValue(label) });
    const files = new HostFiles(ctx);
    const proc = ctx.paths.proc;
    const cgroupRoot = join(ctx.paths.sys, 'fs', 'cgroup');
    /** Last cpu ticks per process (pid and start time, so a reused pid is a new process) and when. */
    let last = new Map<string, number>();
    let lastTs = 0;

    const read = (path: string): string | null => {
      try {
        return readHostFile(path);
      } catch (err) {
        if (!VANISHED.has(errorCode(err) ?? '')) files.failed(path, err);
        return null;
      }
    };

    let uid: number | undefined | null = null;
    const wantedUid = (): number | undefined => {
      if (uid !== null) return uid;
      if (/^\d+$/.test(config.user)) uid = Number(config.user);
      else {
        const passwd = read(join(ctx.paths.root, 'etc', 'passwd'));
        uid = passwd === null ? undefined : uidOf(passwd, config.user);
        if (uid === undefined) ctx.logger.warn('procstat: unknown user, nothing selected', { user: config.user });
      }
      return uid;
    };

    /** Pids of a cgroup directory and its children (v2, or v1's name=systemd hierarchy). */
    const cgroupPids = async (rel: string): Promise<number[] | undefined> => {
      for (const root of [cgroupRoot, join(cgroupRoot, 'systemd'), join(cgroupRoot, 'unified')]) {
        const dir = join(root, rel);
        const found: number[] = [];
        let any = false;
        const walk = async (d: string, depth: number): Promise<void> => {
          let text: string;
          try {
            text = readHostFile(join(d, 'cgroup.procs'));
          } catch {
            return;
          }
          any = true;
          for (const p of parsePidList(text)) found.push(p);
          if (depth > 8) return;
          const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
          for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name), depth + 1);
        };
        await walk(dir, 0);
        if (any) return found;
      }
      return undefined;
    };

    /** Where a systemd unit's cgroup is: system.slice, a user slice, or any top-level slice. */
    const unitCgroup = async (unit: string): Promise<string> => {
      const full = unit.includes('.') ? unit : unit + '.service';
      for (const root of [cgroupRoot, join(cgroupRoot, 'systemd')]) {
        const slices = (await readdir(root).catch(() => [] as string[])).filter((n) => n.endsWith('.slice'));
        for (const s of ['system.slice', ...slices.filter((n) => n !== 'system.slice')]) {
          try {
            readHostBytes(join(root, s, full, 'cgroup.procs'));
            return join(s, full);
          } catch {
            /* not in this slice */
          }
        }
      }
      return join('system.slice', full);
    };

    let warnedSource = false;
    const candidates = async (): Promise<number[] | undefined> => {
      let pids: number[] | undefined;
      const narrow = (list: number[]): void => {
        pids = pids === undefined ? list : pids.filter((p) => list.includes(p));
      };
      if (config.pid_file !== '') {
        const text = read(config.pid_file);
        narrow(text === null ? [] : parsePidList(text).slice(0, 1));
      }
      for (const rel of [config.cgroup, config.systemd_unit !== '' ? await unitCgroup(config.systemd_unit) : '']) {
        if (rel === '') continue;
        const list = await cgroupPids(rel);
        if (list === undefined && !warnedSource) {
          warnedSource = true;
          ctx.logger.warn('procstat: cgroup not found (unit not running, or no cgroup filesystem)', { cgroup: rel });
        }
        narrow(list ?? []);
      }
      return pids;
    };

    const sample = (pid: number): Sample | undefined => {
      const dir = join(proc, String(pid));
      const statText = read(join(dir, 'stat'));
      if (statText === null) return undefined;
      const stat = parseProcStat(statText);
      if (!stat) {
        files.malformed(join(proc, '[pid]', 'stat'), [`unparsable stat of pid ${pid}`]);
        return undefined;
      }
      if (exe && !exe.test(stat.comm)) return undefined;
      if (pattern) {
        let cmd: string;
        try {
          cmd = parseCmdline(readHostBytes(join(dir, 'cmdline')));
        } catch {
          return undefined;
        }
        // kernel threads have no command line: match their name, as pgrep -f does
        if (!pattern.test(cmd === '' ? stat.comm : cmd)) return undefined;
      }
      const statusText = read(join(dir, 'status'));
      if (statusText === null) return undefined;
      const status = parseProcStatus(statusText);
      if (config.user !== '') {
        const want = wantedUid();
        if (want === undefined || status.uid !== want) return undefined;
      }
      const s: Sample = { pid, stat, status };
      if (config.io) {
        const t = read(join(dir, 'io'));
        s.io = t === null ? undefined : parseProcIo(t);
      }
      if (config.fds) {
        try {
          // readdir of procfs is a quick syscall; the sync form keeps the gather free of promises
          let n = 0;
          for (const name of readdirSync(join(dir, 'fd'))) {
            const c = name.charCodeAt(0);
            if (c >= 0x30 && c <= 0x39) n++;
          }
          s.fds = n;
        } catch (err) {
          if (!VANISHED.has(errorCode(err) ?? '')) files.failed(join(dir, 'fd'), err);
        }
      }
      return s;
    };

    const emitGroup = (out: Point[], group: readonly Sample[], tags: Tags, now: number, cpuPercent: number | undefined): void => {
      const sum = (f: (s: Sample) => number | undefined): number | undefined => {
        let t = 0;
        for (const s of group) {
          const v = f(s);
          if (v === undefined) return undefined;
          t += v;
        }
        return t;
      };
      const add = (name: string, v: number | undefined, kind: 'gauge' | 'counter'): void => {
        if (v !== undefined) out.push(point('procstat.' + name, v, now, kind, tags));
      };
      add('cpu_time_user', sum((s) => s.stat.utime / CLK_TCK), 'counter');
      add('cpu_time_system', sum((s) => s.stat.stime / CLK_TCK), 'counter');
      add('cpu_usage', cpuPercent, 'gauge');
      add('rss', sum((s) => s.status.vmRss ?? s.stat.rssPages * PAGE), 'gauge');
      add('vms', sum((s) => s.stat.vsize), 'gauge');
      add('swap', sum((s) => s.status.vmSwap ?? 0), 'gauge');
      add('threads', sum((s) => s.stat.threads), 'gauge');
      if (config.fds) add('fds', sum((s) => s.fds), 'gauge');
      add('minor_faults', sum((s) => s.stat.minorFaults), 'counter');
      add('major_faults', sum((s) => s.stat.majorFaults), 'counter');
      add('voluntary_ctxt_switches', sum((s) => s.status.voluntaryCtxtSwitches), 'counter');
      add('involuntary_ctxt_switches', sum((s) => s.status.nonvoluntaryCtxtSwitches), 'counter');
      if (config.io) {
        add('io_read_bytes', sum((s) => s.io?.readBytes), 'counter');
        add('io_write_bytes', sum((s) => s.io?.writeBytes), 'counter');
        add('io_rchar', sum((s) => s.io?.rchar), 'counter');
        add('io_wchar', sum((s) => s.io?.wchar), 'counter');
        add('io_syscr', sum((s) => s.io?.syscr), 'counter');
        add('io_syscw', sum((s) => s.io?.syscw), 'counter');
      }
    };

    return {
      gather: guarded(ctx, async (now) => {
        let pids = await candidates();
        if (pids === undefined) {
          try {
            pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n)).map(Number);
          } catch (err) {
            files.failed(proc, err);
            return [];
          }
        }
        const group: Sample[] = [];
        let inSlice = 0;
        for (const pid of pids) {
          if (++inSlice > SLICE) {
            inSlice = 0;
            await new Promise<void>((r) => setImmediate(r));
          }
          const s = sample(pid);
          if (s) group.push(s);
        }
        group.sort((a, b) => a.pid - b.pid);
        const out: Point[] = [point('procstat.count', group.length, now, 'gauge', baseTags)];
        // cpu usage: ticks used since the last gather by processes seen both times, over wall time
        const ticks = new Map<string, number>();
        for (const s of group) ticks.set(`${s.pid}:${s.stat.starttime}`, s.stat.utime + s.stat.stime);
        const dt = (now - lastTs) / 1000;
        const usage = (keys: readonly string[]): number | undefined => {
          if (lastTs === 0 || dt <= 0) return undefined;
          let used = 0;
          for (const k of keys) {
            const prev = last.get(k);
            const cur = ticks.get(k);
            if (prev !== undefined && cur !== undefined && cur >= prev) used += cur - prev;
          }
          return (100 * used) / CLK_TCK / dt;
        };
        const keyOf = (s: Sample): string => `${s.pid}:${s.stat.starttime}`;
        if (config.per_pid) {
          for (const s of group) emitGroup(out, [s], Object.freeze({ ...baseTags, pid: String(s.pid) }), now, usage([keyOf(s)]));
        } else if (group.length > 0) {
          emitGroup(out, group, baseTags, now, usage(group.map(keyOf)));
        }
        last = ticks;
        lastTs = now;
        return out;
      }),
      describe() {
        return [`procstat ${label}`];
      },
    };
  },
});
