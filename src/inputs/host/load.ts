/**
 * The `load` collector: load averages and scheduler entity counts from /proc/loadavg.
 */
import { point } from '../../model/point.js';
import { defineHostInput, num } from './common.js';

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  /** Runnable scheduling entities (processes and threads) right now. */
  runnable: number;
  /** Scheduling entities that exist. */
  entities: number;
}

/** Parses `0.06 0.13 0.09 1/92 7002`; an error message instead when the line is not that shape. */
export function parseLoadavg(text: string): LoadAvg | { error: string } {
  const f = text.trim().split(/\s+/);
  const [r, e] = (f[3] ?? '').split('/');
  const load1 = num(f[0]);
  const load5 = num(f[1]);
  const load15 = num(f[2]);
  const runnable = num(r);
  const entities = num(e);
  if (load1 === undefined || load5 === undefined || load15 === undefined || runnable === undefined || entities === undefined) {
    return { error: 'unexpected loadavg: ' + text.slice(0, 80) };
  }
  return { load1, load5, load15, runnable, entities };
}

export default defineHostInput({
  name: 'load',
  description: 'Load averages and runnable/total scheduling entities (/proc/loadavg)',
  async gather(now, { files, proc }) {
    const path = proc('loadavg');
    const text = await files.text(path);
    if (text === undefined) return [];
    const l = parseLoadavg(text);
    if ('error' in l) {
      files.malformed(path, [l.error]);
      return [];
    }
    return [
      point('load.1', l.load1, now),
      point('load.5', l.load5, now),
      point('load.15', l.load15, now),
      point('load.runnable', l.runnable, now),
      point('load.entities', l.entities, now),
    ];
  },
});
