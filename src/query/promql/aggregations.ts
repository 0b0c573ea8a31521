/** PromQL aggregation operators evaluated at one step (topk/bottomk live with the evaluator's grouping). */
import type { AggOp } from './ast.js';
import { PromMean, quantile } from '../aggregate.js';
import { formatFloatF } from './functions.js';
import { labelsKey, type GSeries, type Labels } from './series.js';

export function countValues(groups: Map<string, { labels: Labels; members: GSeries[] }>, label: string, n: number): GSeries[] {
  const out = new Map<string, GSeries>();
  for (const grp of groups.values()) {
    for (let i = 0; i < n; i++) {
      for (const s of grp.members) {
        if (!s.has[i]) continue;
        const l: Labels = { ...grp.labels, [label]: formatFloatF(s.vals[i] as number) };
        const key = labelsKey(l);
        let o = out.get(key);
        if (!o) {
          o = { labels: l, vals: new Float64Array(n), has: new Uint8Array(n) };
          out.set(key, o);
        }
        o.vals[i] = (o.vals[i] as number) + 1;
        o.has[i] = 1;
      }
    }
  }
  return [...out.values()];
}

export function reduce(op: AggOp, members: GSeries[], i: number, param: number | undefined): number | undefined {
  let c = 0;
  switch (op) {
    case 'sum': {
      let s = 0;
      for (const m of members) if (m.has[i]) {
        s += m.vals[i] as number;
        c++;
      }
      return c ? s : undefined;
    }
    case 'avg': {
      const mean = new PromMean();
      for (const m of members) if (m.has[i]) mean.add(m.vals[i] as number);
      return mean.count ? mean.value : undefined;
    }
    case 'min':
    case 'max': {
      let v = NaN;
      for (const m of members) {
        if (!m.has[i]) continue;
        const x = m.vals[i] as number;
        if (c === 0) v = x;
        else if (op === 'min' ? v > x || v !== v : v < x || v !== v) v = x;
        c++;
      }
      return c ? v : undefined;
    }
    case 'count':
    case 'group': {
      for (const m of members) if (m.has[i]) c++;
      return c ? (op === 'count' ? c : 1) : undefined;
    }
    case 'stddev':
    case 'stdvar': {
      let mean = 0;
      let value = 0;
      for (const m of members) {
        if (!m.has[i]) continue;
        const x = m.vals[i] as number;
        c++;
        if (c === 1) {
          mean = x;
          value = 0;
          continue;
        }
        const delta = x - mean;
        mean += delta / c;
        value += delta * (x - mean);
      }
      if (!c) return undefined;
      return op === 'stddev' ? Math.sqrt(value / c) : value / c;
    }
    case 'quantile': {
      const vals: number[] = [];
      for (const m of members) if (m.has[i]) vals.push(m.vals[i] as number);
      return vals.length ? quantile(param as number, vals) : undefined;
    }
    default:
      return undefined;
  }
}

