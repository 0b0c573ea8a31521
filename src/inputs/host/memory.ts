/**
 * The `memory` collector: memory and swap in bytes from /proc/meminfo, swap traffic and page faults
 * from /proc/vmstat.
 */
import { point, type Point } from '../../model/point.js';
import { defineHostInput, eachRow, num } from './common.js';

export interface KeyValues {
  values: Map<string, number>;
  errors: string[];
}

/** Parses /proc/meminfo (`Key:   123 kB`); values with a `kB` unit become bytes, others stay counts. */
export function parseMeminfo(text: string): KeyValues {
  const values = new Map<string, number>();
  const errors = eachRow(text, (line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'no key: ' + line.slice(0, 80);
    const f = line.slice(colon + 1).trim().split(/\s+/);
    const v = num(f[0]);
    if (v === undefined || f.length > 2 || (f.length === 2 && f[1] !== 'kB')) return 'bad value: ' + line.slice(0, 80);
    values.set(line.slice(0, colon), f.length === 2 ? v * 1024 : v);
    return undefined;
  });
  return { values, errors };
}

/** Parses /proc/vmstat (`key value` per line). */
export function parseVmstat(text: string): KeyValues {
  const values = new Map<string, number>();
  const errors = eachRow(text, (line) => {
    const f = line.trim().split(/\s+/);
    const v = num(f[1]);
    if (f.length !== 2 || v === undefined) return 'bad line: ' + line.slice(0, 80);
    values.set(f[0] as string, v);
    return undefined;
  });
  return { values, errors };
}

const percent = (part: number, whole: number): number => (whole > 0 ? (part / whole) * 100 : 0);

/** Builds the memory points from parsed meminfo and vmstat (either may be missing). */
export function memoryPoints(meminfo: Map<string, number> | undefined, vmstat: Map<string, number> | undefined, ts: number): Point[] {
  const out: Point[] = [];
  const gauge = (name: string, v: number | undefined): void => {
    if (v !== undefined) out.push(point(name, v, ts, 'gauge'));
  };
  /** `<what>.used` and `<what>.used_percent` from the total and what is left of it. */
  const used = (what: string, total: number | undefined, left: number | undefined): void => {
    if (total !== undefined && left !== undefined) {
      const u = Math.max(0, total - left);
      gauge(what + '.used', u);
      gauge(what + '.used_percent', percent(u, total));
    }
  };
  if (meminfo) {
    const m = (k: string): number | undefined => meminfo.get(k);
    const total = m('MemTotal');
    const free = m('MemFree');
    // Kernels before 3.14 have no MemAvailable; free + buffers + cached is the classic estimate.
    let available = m('MemAvailable');
    if (available === undefined && free !== undefined) available = free + (m('Buffers') ?? 0) + (m('Cached') ?? 0);
    gauge('mem.total', total);
    gauge('mem.free', free);
    gauge('mem.available', available);
    used('mem', total, available);
    gauge('mem.buffers', m('Buffers'));
    gauge('mem.cached', m('Cached'));
    gauge('mem.shared', m('Shmem'));
    gauge('mem.slab', m('Slab'));
    gauge('mem.dirty', m('Dirty'));
    const swapTotal = m('SwapTotal');
    const swapFree = m('SwapFree');
    gauge('swap.total', swapTotal);
    gauge('swap.free', swapFree);
    used('swap', swapTotal, swapFree);
  }
  if (vmstat) {
    const counter = (name: string, key: string): void => {
      const v = vmstat.get(key);
      if (v !== undefined) out.push(point(name, v, ts, 'counter'));
    };
    counter('swap.in', 'pswpin');
    counter('swap.out', 'pswpout');
    counter('mem.page_faults', 'pgfault');
    counter('mem.major_faults', 'pgmajfault');
  }
  return out;
}

export default defineHostInput({
  name: 'memory',
  description: 'Memory and swap usage, swap traffic and page faults (/proc/meminfo, /proc/vmstat)',
  async gather(now, { files, proc }) {
    const [meminfo, vmstat] = await Promise.all([files.parse(proc('meminfo'), parseMeminfo), files.parse(proc('vmstat'), parseVmstat)]);
    return memoryPoints(meminfo?.values, vmstat?.values, now);
  },
});
