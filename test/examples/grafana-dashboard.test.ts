/**
 * examples/grafana/sonde-host.json stays true to the host collectors: every target parses as PromQL,
 * names only metrics the collectors produce (as the Prometheus API spells them), and answers with data
 * when evaluated over two gathers of the collectors on this host, the way Grafana would ask for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cpu from '../../src/inputs/host/cpu.js';
import memory from '../../src/inputs/host/memory.js';
import load from '../../src/inputs/host/load.js';
import disk from '../../src/inputs/host/disk.js';
import diskio from '../../src/inputs/host/diskio.js';
import net from '../../src/inputs/host/net.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { runPromQuery } from '../../src/query/promql/index.js';
import { parsePromQL } from '../../src/query/promql/parse.js';
import type { Expr } from '../../src/query/promql/ast.js';
import { promName } from '../../src/query/promql/names.js';
import type { Point } from '../../src/model/point.js';
import { build, HAS_PROC } from '../inputs/host/helpers.js';

const FILE = fileURLToPath(new URL('../../examples/grafana/sonde-host.json', import.meta.url));

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

function targets(): Array<{ title: string; expr: string }> {
  const d = JSON.parse(readFileSync(FILE, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ definition?: string }> } };
  const out = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
  for (const v of d.templating.list) {
    const m = /^label_values\(([^,]+),/.exec(v.definition ?? '');
    if (m) out.push({ title: 'variable', expr: m[1] as string });
  }
  return out;
}

/** Grafana's substitutions for a 6 h panel at ~1 min resolution, all hosts. */
const expand = (e: string): string => e.replaceAll('$__rate_interval', '4m').replaceAll('$host', '.*');

function names(e: Expr, out: Set<string>): void {
  switch (e.t) {
    case 'vs':
      for (const m of e.matchers) if (m.name === '__name__') out.add(m.op === '=' ? m.value : `~${m.value}`);
      return;
    case 'ms':
      return names(e.vs, out);
    case 'sub':
    case 'paren':
    case 'neg':
      return names(e.expr, out);
    case 'agg':
      names(e.expr, out);
      if (e.param) names(e.param, out);
      return;
    case 'bin':
      names(e.lhs, out);
      return names(e.rhs, out);
    case 'call':
      return e.args.forEach((a) => names(a, out));
    default:
      return;
  }
}

test('every dashboard target parses and names metrics the host collectors produce', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const collectors = [cpu, memory, load, disk, diskio, net].map((spec) => build(spec as Parameters<typeof build>[0]));
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  const points: Point[] = [];
  // gathers a minute apart (cpu.usage needs two), stamped into the past half hour
  for (let k = 0; k < 6; k++) {
    for (const c of collectors) for (const p of await c.gather(t0 + k * 60_000)) points.push({ ...p, ts: t0 + k * 60_000, tags: { ...p.tags, host: 'testhost' } });
    await new Promise((r) => setTimeout(r, 20));
  }
  const produced = new Set(points.map((p) => promName(p.name)));
  const dir = mkdtempSync(join(tmpdir(), 'sonde-dash-'));
  const db = Tsdb.open(dir);
  try {
    db.writeSync(points);
    const list = targets();
    assert.ok(list.length >= 15, `${list.length} targets`);
    for (const { title, expr } of list) {
      const e = parsePromQL(expand(expr));
      const used = new Set<string>();
      names(e, used);
      assert.ok(used.size > 0, `${title}: ${expr} selects no metric`);
      for (const n of used) {
        if (n.startsWith('~')) {
          const re = new RegExp(`^(?:${n.slice(1)})$`);
          assert.ok([...produced].some((p) => re.test(p)), `${title}: no collector metric matches ${n.slice(1)}`);
        } else assert.ok(produced.has(n), `${title}: ${n} is not a host collector metric (have ${[...produced].filter((p) => p.startsWith(n.split('_')[0] as string)).join(', ')})`);
      }
      const a = await runPromQuery({ query: expand(expr), start: t0 + 5 * 60_000, end: t0 + 5 * 60_000, step: 0, instant: true }, db);
      // the forecast panel lists only filesystems predicted to fill up: empty on a healthy test host
      if (!/predict_linear/.test(expr)) assert.ok((a.result as unknown[]).length > 0, `${title}: ${expr} answered no series`);
    }
  } finally {
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
});
