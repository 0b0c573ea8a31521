/**
 * PromQL selectors over the embedded store (through `StoreHandle`, so the store may run in its worker
 * thread): name matchers pick sonde names through the name catalog, label matchers become store tag
 * specs by `resolveTagSpecs` (exact value lists), and every returned series is checked against the
 * matchers again, so the store's pre-selection can only narrow, never change, the answer. Raw samples
 * only, read as typed columns (`StoreHandle.readRaw`): rollups do not give the per-sample values PromQL
 * windows need.
 */
import type { StoreHandle } from '../../model/store-api.js';
import { resolveTagSpecs, type TagTest } from '../select.js';
import type { LabelMatcherNode } from './ast.js';
import { PromError, labelsMatch, type RawSeries, type SeriesSource } from './eval.js';
import { buildCatalog, promLabel, promName, seriesLabels, type NameCatalog } from './names.js';
import { matcherTest } from './series.js';


export class StoreSeriesSource implements SeriesSource {
  private catalog: NameCatalog | undefined;
  readonly warnings = new Set<string>();
  /** Samples read so far; the store is asked for at most `maxSamples` in all. */
  private read = 0;

  constructor(
    private readonly store: StoreHandle,
    private readonly maxSamples = 50_000_000,
  ) {}

  async names(): Promise<NameCatalog> {
    if (!this.catalog) this.catalog = buildCatalog(await this.store.names('*', 10_000_000));
    return this.catalog;
  }

  /** sonde names whose Prometheus names pass the `__name__` matchers. */
  async sondeNames(matchers: readonly LabelMatcherNode[]): Promise<string[]> {
    const cat = await this.names();
    const nameMs = matchers.filter((m) => m.name === '__name__');
    const eq = nameMs.find((m) => m.op === '=');
    const tests = nameMs.map((m) => matcherTest(m));
    const out: string[] = [];
    const candidates = eq ? (cat.byProm.has(eq.value) ? [eq.value] : []) : [...cat.byProm.keys()];
    for (const p of candidates) {
      if (!tests.every((t) => t(p))) continue;
      const served = cat.byProm.get(p) as string;
      out.push(served);
      for (const c of cat.collisions) if (c.endsWith(`read as ${JSON.stringify(p)}; serving ${JSON.stringify(served)} only`)) this.warnings.add(c);
    }
    return out.sort();
  }

  /** Store tag specs for the non-name matchers over one sonde name, or null when nothing can match. */
  async specFor(name: string, matchers: readonly LabelMatcherNode[]): Promise<Record<string, string> | null> {
    const others = matchers.filter((m) => m.name !== '__name__');
    if (others.length === 0) return {};
    const keys = await this.store.tagKeys(name);
    const tests: TagTest[] = [];
    for (const m of others) {
      const t = matcherTest(m);
      const sondeKeys = keys.filter((k) => promLabel(k) === m.name);
      if (sondeKeys.length === 0) {
        if (!t('')) return null; // the label is absent from every series of the name
        continue;
      }
      // with several keys on one label the post-check decides; narrow by the first only
      tests.push({ key: sondeKeys[0] as string, test: (v) => t(v ?? '') });
    }
    return resolveTagSpecs(this.store, name, tests);
  }

  async select(matchers: LabelMatcherNode[], mint: number, maxt: number): Promise<RawSeries[]> {
    const names = await this.sondeNames(matchers);
    const match = labelsMatch(matchers);
    const out: RawSeries[] = [];
    for (const name of names) {
      const spec = await this.specFor(name, matchers);
      if (spec === null) continue;
      const room = Math.max(1, this.maxSamples - this.read);
      const r = await this.store.readRaw({ name, ...(Object.keys(spec).length ? { tags: spec } : {}), start: mint, end: maxt + 1, maxPoints: room });
      if (r.pointsTruncated) throw new PromError('execution', 'query processing would load too many samples into memory in query execution');
      const pn = promName(name);
      for (const [i, s] of r.series.entries()) {
        const labels = seriesLabels(pn, s.tags, (msg) => this.warnings.add(msg));
        if (!match(labels)) continue;
        // views into the read's columns (NaN samples stay NaN, staleness markers included)
        const from = r.offsets[i] as number;
        const to = r.offsets[i + 1] as number;
        this.read += to - from;
        out.push({ labels, ts: r.ts.subarray(from, to), vs: r.values.subarray(from, to) });
      }
    }
    return out;
  }
}
