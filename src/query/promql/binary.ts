/**
 * PromQL binary operators over the evaluation grid: arithmetic and comparisons between scalars and
 * vectors, vector matching (on/ignoring, group_left/group_right, one-to-one duplicate errors) and the
 * set operators, with Prometheus 2.x's rules for the metric name and result labels.
 */
import type { Binary } from './ast.js';
import { isComparison } from './parse.js';
import { PromError, dropName, formatLabels, labelsKey, type GSeries, type Labels } from './series.js';

export function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/** Arithmetic or comparison of two values: [value, keep]. */
export function binop(op: string, a: number, b: number): [number, boolean] {
  switch (op) {
    case '+':
      return [a + b, true];
    case '-':
      return [a - b, true];
    case '*':
      return [a * b, true];
    case '/':
      return [a / b, true];
    case '%':
      return [a % b, true];
    case '^':
      return [goPow(a, b), true];
    case 'atan2':
      return [Math.atan2(a, b), true];
    default:
      return [a, compare(op, a, b)];
  }
}

/** Go's math.Pow differs from JS ** in two corners: 1 ** NaN and (-1) ** ±Inf are 1 in Go. */
function goPow(a: number, b: number): number {
  if (a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return a ** b;
}

export function vectorScalar(e: Binary, vs: GSeries[], sc: Float64Array, scalarLeft: boolean, n: number): GSeries[] {
  const cmp = isComparison(e.op);
  const out: GSeries[] = [];
  for (const s of vs) {
    const vals = new Float64Array(n);
    const has = new Uint8Array(n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.has[i]) continue;
      const x = s.vals[i] as number;
      const y = sc[i] as number;
      const [l, r] = scalarLeft ? [y, x] : [x, y];
      let [v, keep] = binop(e.op, l, r);
      if (cmp) {
        // a comparison filters; its value is the vector's (or with bool 0/1)
        v = x;
        if (e.bool) {
          v = keep ? 1 : 0;
          keep = true;
        }
      }
      if (!keep) continue;
      vals[i] = v;
      has[i] = 1;
      any = true;
    }
    if (any) out.push({ labels: dropsName(e.op) || e.bool ? dropName(s.labels) : s.labels, vals, has });
  }
  return out;
}

/** Arithmetic drops the metric name; comparisons (without bool), atan2 and set operators keep it (Prometheus 2.x). */
function dropsName(op: string): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

function signature(l: Labels, on: boolean, names: readonly string[]): string {
  if (on) {
    let s = '';
    for (const k of [...names].sort()) s += k + '\x00' + (l[k] ?? '') + '\x01';
    return s;
  }
  const keys = Object.keys(l)
    .filter((k) => k !== '__name__' && !names.includes(k))
    .sort();
  let s = '';
  for (const k of keys) s += k + '\x00' + l[k] + '\x01';
  return s;
}

export function setOp(e: Binary, lhs: GSeries[], rhs: GSeries[], n: number): GSeries[] {
  const m = e.matching ?? { card: 'many-to-many', on: false, labels: [], include: [] };
  const rsig = rhs.map((s) => signature(s.labels, m.on, m.labels));
  const lsig = lhs.map((s) => signature(s.labels, m.on, m.labels));
  const present = (sigs: string[], series: GSeries[], i: number): Set<string> => {
    const set = new Set<string>();
    series.forEach((s, j) => {
      if (s.has[i]) set.add(sigs[j] as string);
    });
    return set;
  };
  const mk = (s: GSeries): GSeries => ({ labels: s.labels, vals: new Float64Array(n), has: new Uint8Array(n) });
  const outL = lhs.map(mk);
  const outR = rhs.map(mk);
  for (let i = 0; i < n; i++) {
    const rs = present(rsig, rhs, i);
    if (e.op === 'and' || e.op === 'unless') {
      lhs.forEach((s, j) => {
        if (!s.has[i]) return;
        const hit = rs.has(lsig[j] as string);
        if (e.op === 'and' ? hit : !hit) {
          (outL[j] as GSeries).vals[i] = s.vals[i] as number;
          (outL[j] as GSeries).has[i] = 1;
        }
      });
    } else {
      const ls = present(lsig, lhs, i);
      lhs.forEach((s, j) => {
        if (!s.has[i]) return;
        (outL[j] as GSeries).vals[i] = s.vals[i] as number;
        (outL[j] as GSeries).has[i] = 1;
      });
      rhs.forEach((s, j) => {
        if (!s.has[i] || ls.has(rsig[j] as string)) return;
        (outR[j] as GSeries).vals[i] = s.vals[i] as number;
        (outR[j] as GSeries).has[i] = 1;
      });
    }
  }
  const all = e.op === 'or' ? [...outL, ...outR] : outL;
  return all.filter((s) => s.has.some((x) => x));
}

export function vectorVector(e: Binary, lhs: GSeries[], rhs: GSeries[], n: number): GSeries[] {
  const m = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
  const cmp = isComparison(e.op);
  const oneToMany = m.card === 'one-to-many';
  // `many` is the side whose labels the result keeps; `one` the side matched against
  const many = oneToMany ? rhs : lhs;
  const one = oneToMany ? lhs : rhs;
  const oneSig = one.map((s) => signature(s.labels, m.on, m.labels));
  const manySig = many.map((s) => signature(s.labels, m.on, m.labels));
  const oneBySig = new Map<string, number[]>();
  oneSig.forEach((sig, j) => oneBySig.set(sig, [...(oneBySig.get(sig) ?? []), j]));
  const out = new Map<string, GSeries>();
  const dropN = dropsName(e.op) || e.bool;
  const resultCache = new Map<string, { labels: Labels; key: string }>();
  for (let i = 0; i < n; i++) {
    const seenOne = new Map<string, number>();
    for (const [sig, js] of oneBySig) {
      let found = -1;
      for (const j of js) {
        if (!(one[j] as GSeries).has[i]) continue;
        if (found >= 0) {
          const side = oneToMany ? 'left' : 'right';
          throw new PromError(
            'execution',
            `found duplicate series for the match group ${formatSig(one[j] as GSeries, m)} on the ${side} hand-side of the operation: [${formatLabels((one[found] as GSeries).labels)}, ${formatLabels((one[j] as GSeries).labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
          );
        }
        found = j;
      }
      if (found >= 0) seenOne.set(sig, found);
    }
    const matchedSigs = new Set<string>();
    const inserted = new Set<string>();
    for (let k = 0; k < many.length; k++) {
      const ms = many[k] as GSeries;
      if (!ms.has[i]) continue;
      const sig = manySig[k] as string;
      const j = seenOne.get(sig);
      if (j === undefined) continue;
      if (m.card === 'one-to-one') {
        if (matchedSigs.has(sig)) throw new PromError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matchedSigs.add(sig);
      }
      const os = one[j] as GSeries;
      const vl = oneToMany ? (os.vals[i] as number) : (ms.vals[i] as number);
      const vr = oneToMany ? (ms.vals[i] as number) : (os.vals[i] as number);
      let [v, keep] = binop(e.op, vl, vr);
      if (cmp && e.bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      const ck = k + ':' + j;
      let rl = resultCache.get(ck);
      if (!rl) {
        const labels = resultLabels(ms.labels, os.labels, m, dropN);
        rl = { labels, key: labelsKey(labels) };
        resultCache.set(ck, rl);
      }
      if (m.card !== 'one-to-one') {
        if (inserted.has(rl.key)) throw new PromError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
        inserted.add(rl.key);
      }
      let o = out.get(rl.key);
      if (!o) {
        o = { labels: rl.labels, vals: new Float64Array(n), has: new Uint8Array(n) };
        out.set(rl.key, o);
      }
      if (o.has[i]) throw new PromError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      o.vals[i] = v;
      o.has[i] = 1;
    }
  }
  return [...out.values()];
}

function formatSig(s: GSeries, m: { on: boolean; labels: string[] }): string {
  const l: Labels = {};
  if (m.on) for (const k of m.labels) l[k] = s.labels[k] ?? '';
  else for (const k of Object.keys(s.labels)) if (k !== '__name__' && !m.labels.includes(k)) l[k] = s.labels[k] as string;
  return formatLabels(l);
}

function resultLabels(many: Labels, one: Labels, m: { card: string; on: boolean; labels: string[]; include: string[] }, dropN: boolean): Labels {
  let l: Labels = { ...many };
  if (dropN) delete l['__name__'];
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Labels = {};
      for (const k of m.labels) if (l[k] !== undefined) kept[k] = l[k];
      l = kept;
    } else for (const k of m.labels) delete l[k];
  }
  for (const k of m.include) {
    const v = one[k];
    if (v !== undefined && v !== '') l[k] = v;
    else delete l[k];
  }
  return l;
}

