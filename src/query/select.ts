/**
 * The selector model of the query layer: a metric name pattern plus matchers on tags. Every front end
 * reduces its filters to it: native tag specs (`web-*`, `a|b`, `!x`, `*`), OpenTSDB filters
 * (`literal_or`, `wildcard`, `regexp`...) and PromQL label matchers (`=`, `!=`, `=~`, `!~`). A store
 * (possibly in a worker thread) takes a serializable spec, so `resolveTagSpecs` turns matchers the store
 * cannot evaluate into exact value lists from the store's own tag values; callers then check each
 * returned series against the matchers themselves.
 */
import type { Tags } from '../model/point.js';
import { compileGlob, isGlob } from '../core/glob.js';
import type { StoreHandle } from '../model/store-api.js';

/** Matcher for a metric name glob (exact string compare when it has no wildcard). */
export function nameMatcher(glob: string): (s: string) => boolean {
  if (!isGlob(glob)) return (s) => s === glob;
  return compileGlob(glob, { alternatives: false });
}

/** A native tag spec: `*` present, `!spec` absent or not matching, `a|b` alternatives, globs. */
export function valueMatcher(spec: string): (v: string | undefined) => boolean {
  if (spec === '*') return (v) => v !== undefined;
  if (spec.startsWith('!')) {
    const inner = valueMatcher(spec.slice(1));
    return (v) => v === undefined || !inner(v);
  }
  const alts = spec.split('|').map((a) => nameMatcher(a));
  if (alts.length === 1) {
    const m = alts[0] as (s: string) => boolean;
    return (v) => v !== undefined && m(v);
  }
  return (v) => v !== undefined && alts.some((m) => m(v));
}

/** Compiles native tag filters: exact, glob, `a|b`, `!x` (absent or not x), `*` (present). */
export function tagMatcher(filters: Readonly<Record<string, string>> | undefined): (tags: Tags) => boolean {
  if (!filters) return () => true;
  const list = Object.entries(filters).map(([k, spec]) => [k, valueMatcher(spec)] as const);
  if (list.length === 0) return () => true;
  return (tags) => {
    for (const [k, m] of list) if (!m(tags[k])) return false;
    return true;
  };
}

/** A predicate on one tag's value (undefined when the series has no such tag). */
export interface TagTest {
  readonly key: string;
  test(v: string | undefined): boolean;
}

/** Characters a value must avoid to be passed to the store as an exact alternative. */
const PLAIN_VALUE = /^[^*?|!]+$/;

/**
 * Store tag specs equivalent to `tests` over the series of `nameGlob`: each key's tests become the
 * list of the store's values that pass (or `!list`, "absent or one of these", when an absent tag passes).
 * Returns null when no series can match. Values with glob characters are left to the caller's check.
 */
export async function resolveTagSpecs(store: Pick<StoreHandle, 'tagValues'>, nameGlob: string, tests: readonly TagTest[]): Promise<Record<string, string> | null> {
  const byKey = new Map<string, TagTest[]>();
  for (const t of tests) byKey.set(t.key, [...(byKey.get(t.key) ?? []), t]);
  const specs: Record<string, string> = {};
  for (const [key, ts] of byKey) {
    const pass = (v: string | undefined): boolean => ts.every((t) => t.test(v));
    const values = await store.tagValues(key, nameGlob, 1_000_000);
    const yes: string[] = [];
    const no: string[] = [];
    for (const v of values) (pass(v) ? yes : no).push(v);
    const absentOk = pass(undefined);
    if (!yes.every((v) => PLAIN_VALUE.test(v)) || !no.every((v) => PLAIN_VALUE.test(v))) continue;
    if (absentOk) {
      if (no.length === 0) continue; // every series passes
      specs[key] = '!' + no.join('|');
    } else {
      if (yes.length === 0) return null;
      specs[key] = no.length === 0 ? '*' : yes.join('|');
    }
  }
  return specs;
}
