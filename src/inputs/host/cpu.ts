/**
 * The `cpu` collector: CPU time per mode from /proc/stat (raw totals in seconds), usage in percent
 * from the change between two gathers, context switches, interrupts and forks.
 */
import { z } from 'zod/v3';
import { point, type Point } from '../../model/point.js';
import { defineHostInput, num } from './common.js';

/** /proc/stat columns, in kernel order. `guest` and `guest_nice` are already included in `user`/`nice`. */
export const CPU_MODES = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guest_nice',
] as const;

/** /proc/stat counts in USER_HZ, which the kernel ABI fixes at 100 whatever CONFIG_HZ is. */
export const USER_HZ = 100;

export interface CpuLine {
  /** `total` for the aggregate line, the core number otherwise. */
  readonly cpu: string;
  /** Jiffies per mode in CPU_MODES order; older kernels have fewer columns. */
  readonly jiffies: number[];
}

export interface ProcStat {
  cpus: CpuLine[];
  ctxt?: number;
  /** Total of all interrupts (first number of the `intr` line). */
  intr?: number;
  /** Forks since boot. */
  processes?: number;
  /** Boot time, seconds since the epoch. */
  btime?: number;
  procsRunning?: number;
  procsBlocked?: number;
  errors: string[];
}

/** Parses /proc/stat. Never throws; malformed lines are reported in `errors`. */
export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { cpus: [], errors: [] };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.startsWith('cpu')) {
      const f = line.trim().split(/\s+/);
      const label = f[0] as string;
      const cpu = label === 'cpu' ? 'total' : label.slice(3);
      if (cpu !== 'total' && !/^\d+$/.test(cpu)) {
        out.errors.push('bad cpu label: ' + label.slice(0, 40));
        continue;
      }
      const jiffies: number[] = [];
      for (let i = 1; i < f.length && jiffies.length < CPU_MODES.length; i++) {
        const v = num(f[i]);
        if (v === undefined || v < 0) break;
        jiffies.push(v);
      }
      // Fewer than 4 columns (user nice system idle) is not a cpu line any kernel writes.
      if (jiffies.length < 4) out.errors.push('short cpu line: ' + line.slice(0, 80));
      else out.cpus.push({ cpu, jiffies });
      continue;
    }
    // `intr` can hold thousands of per-IRQ numbers; only the total (the first) is read.
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const key = line.slice(0, sp);
    let field: 'ctxt' | 'intr' | 'processes' | 'btime' | 'procsRunning' | 'procsBlocked' | undefined;
    if (key === 'ctxt') field = 'ctxt';
    else if (key === 'intr') field = 'intr';
    else if (key === 'processes') field = 'processes';
    else if (key === 'btime') field = 'btime';
    else if (key === 'procs_running') field = 'procsRunning';
    else if (key === 'procs_blocked') field = 'procsBlocked';
    if (field === undefined) continue;
    const rest = line.slice(sp + 1).trimStart();
    const sp2 = rest.indexOf(' ');
    const v = num(sp2 < 0 ? rest.trimEnd() : rest.slice(0, sp2));
    if (v === undefined) out.errors.push('bad value for ' + key);
    else out[field] = v;
  }
  return out;
}

/**
 * Usage per mode in percent of the time elapsed between two samples of one CPU line. The base is
 * user..steal: guest time is already counted in user, so adding it would count it twice. A mode that
 * went backwards (iowait can) counts as 0. Undefined when no time passed or the counters were reset.
 */
export function cpuUsage(prev: readonly number[], cur: readonly number[]): number[] | undefined {
  const n = Math.min(prev.length, cur.length);
  const deltas: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.max(0, (cur[i] as number) - (prev[i] as number));
    deltas.push(d);
    if (i < 8) total += d;
  }
  if (!(total > 0)) return undefined;
  return deltas.map((d) => (d / total) * 100);
}

const schema = z.object({
  percpu: z.boolean().default(true).describe('Report per-core series (cpu=0, cpu=1, ...)'),
  totalcpu: z.boolean().default(true).describe('Report the all-cores series (cpu=total)'),
});

export default defineHostInput({
  name: 'cpu',
  description: 'CPU time and usage per mode, context switches, interrupts and forks (/proc/stat)',
  schema,
  create(config, { files, proc }) {
    const path = proc('stat');
    let prev = new Map<string, number[]>();
    return async (now) => {
      const stat = await files.parse(path, parseProcStat);
      if (stat === undefined) return [];
      const out: Point[] = [];
      const next = new Map<string, number[]>();
      let cores = 0;
      for (const line of stat.cpus) {
        const total = line.cpu === 'total';
        if (!total) cores++;
        if (total ? !config.totalcpu : !config.percpu) continue;
        next.set(line.cpu, line.jiffies);
        line.jiffies.forEach((j, i) => {
          out.push(point('cpu.time', j / USER_HZ, now, 'counter', { cpu: line.cpu, mode: CPU_MODES[i] as string }));
        });
        const before = prev.get(line.cpu);
        const usage = before && cpuUsage(before, line.jiffies);
        if (usage) {
          usage.forEach((u, i) => {
            out.push(point('cpu.usage', u, now, 'gauge', { cpu: line.cpu, mode: CPU_MODES[i] as string }));
          });
        }
      }
      prev = next;
      if (cores > 0) out.push(point('cpu.count', cores, now, 'gauge'));
      if (stat.ctxt !== undefined) out.push(point('cpu.context_switches', stat.ctxt, now, 'counter'));
      if (stat.intr !== undefined) out.push(point('cpu.interrupts', stat.intr, now, 'counter'));
      if (stat.processes !== undefined) out.push(point('processes.forks', stat.processes, now, 'counter'));
      return out;
    };
  },
});
