/**
 * The `pressure` collector: pressure stall information (PSI, Linux 4.20+) from /proc/pressure/{cpu,
 * memory,io}: the share of time some (or all) tasks waited for the resource, averaged over 10 s, 60 s
 * and 300 s, and the total stall time. A kernel without PSI (no /proc/pressure) yields nothing, and
 * says so once in the log, rather than an error every interval.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { point } from '../../model/point.js';
import type { Point } from '../../model/point.js';
import { defineHostInput, lines, num } from './common.js';

export const PSI_RESOURCES = ['cpu', 'memory', 'io'] as const;

export interface PsiLine {
  kind: 'some' | 'full';
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, µs. */
  total: number;
}

/** Parses `some avg10=0.00 avg60=0.12 avg300=0.05 total=123456` lines. */
export function parsePressure(text: string): { lines: PsiLine[]; errors: string[] } {
  const out: PsiLine[] = [];
  const errors: string[] = [];
  for (const l of lines(text)) {
    const [kind, ...kv] = l.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') {
      errors.push('unexpected pressure line: ' + l.slice(0, 80));
      continue;
    }
    const f: Record<string, number | undefined> = {};
    for (const p of kv) {
      const eq = p.indexOf('=');
      if (eq > 0) f[p.slice(0, eq)] = num(p.slice(eq + 1));
    }
    const { avg10, avg60, avg300, total } = f;
    if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined) {
      errors.push('unexpected pressure line: ' + l.slice(0, 80));
      continue;
    }
    out.push({ kind, avg10, avg60, avg300, total });
  }
  return { lines: out, errors };
}

export default defineHostInput({
  name: 'pressure',
  description: 'Pressure stall information: share of time tasks waited for cpu, memory and io (/proc/pressure)',
  create(_config, { files, proc, logger }) {
    const dir = proc('pressure');
    const have = PSI_RESOURCES.filter((r) => existsSync(join(dir, r)));
    if (have.length === 0) logger.info('no /proc/pressure on this kernel (PSI needs Linux 4.20+ with psi enabled): pressure collects nothing');
    return async (now) => {
      const out: Point[] = [];
      for (const resource of have) {
        const r = await files.parse(join(dir, resource), parsePressure);
        if (r === undefined) continue;
        const tags = { resource };
        for (const l of r.lines) {
          out.push(point(`pressure.${l.kind}_avg10`, l.avg10, now, 'gauge', tags));
          out.push(point(`pressure.${l.kind}_avg60`, l.avg60, now, 'gauge', tags));
          out.push(point(`pressure.${l.kind}_avg300`, l.avg300, now, 'gauge', tags));
          out.push(point(`pressure.${l.kind}_total`, l.total / 1e6, now, 'counter', tags));
        }
      }
      return out;
    };
  },
});
