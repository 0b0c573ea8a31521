/**
 * Graphite path templates, as Telegraf's graphite parser and InfluxDB's graphite service know them: they
 * turn the segments of a dotted path into a metric name and tags.
 *
 * A spec is `[filter] template [k=v,k2=v2]`:
 * - `filter` is a dotted glob (`*` = exactly one segment) matched against the start of the path; the
 *   filter with the most segments wins, and among equally long ones the one with exact segments further
 *   left (`cpu.*` beats `*.load`). A spec without a filter is the default (at most one).
 * - `template` parts, one per path segment: `measurement` (the segment goes into the name, repeatable),
 *   `measurement*` (the rest of the path goes into the name), `field` / `field*` (the same, but joined
 *   after all measurement parts: sonde points carry one value, so there is no separate field name), an
 *   empty part (skip the segment), or a tag key (the segment becomes that tag; a key used twice gets the
 *   values joined by the separator).
 * - `k=v` pairs: tags added to every point the template matches (segment tags win over them).
 *
 * Name parts are joined by `separator`. A path shorter than its template simply leaves the remaining
 * parts unused; segments past the end of a template without `*` are dropped. When a template yields no
 * measurement part the whole path is the name; paths that match no template keep their name, untagged.
 * Pure: no I/O, compiled once, and applying one allocates no regular expression.
 */
import type { Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeComponent, sanitizeName, sanitizeTagKey } from '../model/sanitize.js';
import { parseGraphitePath } from './graphite.js';
import { setOwn } from './types.js';

/** What one template part does with its segment. */
type Part = 0 | 1 | 2 | 3 | 4 | 5;
const SKIP = 0;
const MEASUREMENT = 1;
const MEASUREMENT_REST = 2;
const FIELD = 3;
const FIELD_REST = 4;
const TAG = 5;

interface CompiledTemplate {
  readonly spec: string;
  readonly kinds: readonly Part[];
  /** Tag key of each `TAG` position (empty string elsewhere). */
  readonly keys: readonly string[];
  readonly hasTags: boolean;
  readonly defaults: Tags;
}

/** A node of the filter trie: one filter segment deep. */
interface FilterNode {
  readonly exact: Map<string, FilterNode>;
  wildcard: FilterNode | undefined;
  template: CompiledTemplate | undefined;
}

/** Compiled templates; build with `compileTemplates`. */
export interface GraphiteTemplates {
  readonly separator: string;
  readonly root: FilterNode;
  readonly fallback: CompiledTemplate | undefined;
  /** Number of specs compiled (0: `applyTemplates` only splits off `;tags`). */
  readonly size: number;
}

export type CompileResult =
  | { readonly ok: true; readonly templates: GraphiteTemplates }
  | { readonly ok: false; readonly error: string; readonly index: number };

export interface GraphiteTemplateResult {
  readonly name: string;
  readonly tags: Tags;
}

function node(): FilterNode {
  return { exact: new Map(), wildcard: undefined, template: undefined };
}

function compileOne(spec: string): { filter: string[] | undefined; template: CompiledTemplate } | string {
  const words = spec.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) return 'empty template';
  if (words.length > 3) return 'expected "[filter] template [k=v,...]" (at most 3 space-separated words)';
  let filterText: string | undefined;
  let templateText: string;
  let tagsText: string | undefined;
  if (words.length === 3) [filterText, templateText, tagsText] = words as [string, string, string];
  else if (words.length === 2) {
    const [a, b] = words as [string, string];
    if (b.includes('=')) [templateText, tagsText] = [a, b];
    else [filterText, templateText] = [a, b];
  } else templateText = words[0] as string;

  let filter: string[] | undefined;
  if (filterText !== undefined) {
    filter = filterText.split('.');
    for (const seg of filter) {
      if (seg.length === 0) return `filter "${filterText}" has an empty segment`;
      if (seg.includes('*') && seg !== '*') return `filter "${filterText}": "*" must be a whole segment`;
    }
  }

  const kinds: Part[] = [];
  const keys: string[] = [];
  let hasMeasurement = false;
  let hasMeasurementRest = false;
  let hasFieldRest = false;
  let hasTags = false;
  const parts = templateText.split('.');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    let kind: Part;
    let key = '';
    if (p === '') kind = SKIP;
    else if (p === 'measurement') kind = MEASUREMENT;
    else if (p === 'measurement*') kind = MEASUREMENT_REST;
    else if (p === 'field') kind = FIELD;
    else if (p === 'field*') kind = FIELD_REST;
    else if (p.includes('*')) return `unknown template part "${p}" (wildcards: measurement*, field*)`;
    else if (p.includes('=')) return `template part "${p}" looks like a tag; default tags go after the template, separated by a space`;
    else {
      key = sanitizeTagKey(p);
      if (key.length === 0) return `template part "${p}" is not a usable tag key`;
      kind = TAG;
      hasTags = true;
    }
    if (kind === MEASUREMENT || kind === MEASUREMENT_REST) hasMeasurement = true;
    if (kind === MEASUREMENT_REST) hasMeasurementRest = true;
    if (kind === FIELD_REST) hasFieldRest = true;
    if ((kind === MEASUREMENT_REST || kind === FIELD_REST) && i !== parts.length - 1) {
      return `"${p}" takes the rest of the path, so it must be the last part`;
    }
    kinds.push(kind);
    keys.push(key);
  }
  if (!hasMeasurement) return 'template has no "measurement" or "measurement*" part';
  if (hasMeasurementRest && hasFieldRest) return '"measurement*" and "field*" cannot be used together';

  let defaults: Tags = EMPTY_TAGS;
  if (tagsText !== undefined) {
    const d: Record<string, string> = {};
    for (const kv of tagsText.split(',')) {
      const eq = kv.indexOf('=');
      const k = eq > 0 ? sanitizeTagKey(kv.slice(0, eq)) : '';
      const v = eq > 0 ? sanitizeComponent(kv.slice(eq + 1)) : '';
      if (k.length === 0 || v.length === 0) return `default tag "${kv}" is not k=v`;
      setOwn(d, k, v);
    }
    defaults = Object.freeze(d);
  }
  return { filter, template: { spec, kinds, keys, hasTags, defaults } };
}

/**
 * Compiles template specs (see the file comment). The first invalid spec fails the whole list with a
 * message naming it; two specs with the same filter, or two defaults, are errors too.
 */
export function compileTemplates(specs: readonly string[], opts: { separator?: string } = {}): CompileResult {
  const root = node();
  let fallback: CompiledTemplate | undefined;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as string;
    const r = compileOne(spec);
    if (typeof r === 'string') return { ok: false, error: `invalid template "${spec}": ${r}`, index: i };
    if (r.filter === undefined) {
      if (fallback) return { ok: false, error: `invalid template "${spec}": there is already a default template "${fallback.spec}"`, index: i };
      fallback = r.template;
      continue;
    }
    let n = root;
    for (const seg of r.filter) {
      if (seg === '*') n = n.wildcard ??= node();
      else {
        let c = n.exact.get(seg);
        if (!c) n.exact.set(seg, (c = node()));
        n = c;
      }
    }
    if (n.template) return { ok: false, error: `invalid template "${spec}": same filter as "${n.template.spec}"`, index: i };
    n.template = r.template;
  }
  return { ok: true, templates: { separator: opts.separator ?? '.', root, fallback, size: specs.length } };
}

/**
 * Depth-first search of the trie, exact segments before `*`: the first template found at the greatest
 * depth is the most specific match. Bounded by the size of the trie, not by the path.
 */
function search(n: FilterNode, segs: readonly string[], depth: number, best: { t: CompiledTemplate | undefined; d: number }): void {
  if (n.template && depth > best.d) {
    best.t = n.template;
    best.d = depth;
  }
  if (depth >= segs.length) return;
  const c = n.exact.get(segs[depth] as string);
  if (c) search(c, segs, depth + 1, best);
  if (n.wildcard) search(n.wildcard, segs, depth + 1, best);
}

/** The template a dotted path (without `;tags`) uses, or undefined. */
function match(t: GraphiteTemplates, segs: readonly string[]): CompiledTemplate | undefined {
  if (t.root.exact.size === 0 && t.root.wildcard === undefined) return t.fallback;
  const best = { t: undefined as CompiledTemplate | undefined, d: 0 };
  search(t.root, segs, 0, best);
  return best.t ?? t.fallback;
}

function applyOne(tpl: CompiledTemplate, segs: readonly string[], path: string, sep: string): GraphiteTemplateResult {
  let name = '';
  let field = '';
  let tags: Record<string, string> | undefined;
  const n = tpl.kinds.length;
  for (let i = 0; i < n && i < segs.length; i++) {
    const kind = tpl.kinds[i] as Part;
    if (kind === SKIP) continue;
    if (kind === MEASUREMENT_REST || kind === FIELD_REST) {
      for (let j = i; j < segs.length; j++) {
        const s = segs[j] as string;
        if (s.length === 0) continue;
        if (kind === MEASUREMENT_REST) name = name.length === 0 ? s : name + sep + s;
        else field = field.length === 0 ? s : field + sep + s;
      }
      break;
    }
    const s = segs[i] as string;
    if (s.length === 0) continue;
    if (kind === MEASUREMENT) name = name.length === 0 ? s : name + sep + s;
    else if (kind === FIELD) field = field.length === 0 ? s : field + sep + s;
    else {
      const key = tpl.keys[i] as string;
      const v = sanitizeComponent(s);
      if (v.length === 0) continue;
      tags ??= {};
      // A key used twice in the template joins its values, as Telegraf does (`region.region`).
      const prev = Object.prototype.hasOwnProperty.call(tags, key) ? tags[key] : undefined;
      setOwn(tags, key, prev === undefined ? v : prev + sep + v);
    }
  }
  // No measurement part in this path (shorter than the template): the whole path names the point.
  if (name.length === 0) name = path;
  else if (field.length > 0) name = name + sep + field;
  let out: Tags = tpl.defaults;
  if (tags) out = tpl.defaults === EMPTY_TAGS ? tags : { ...tpl.defaults, ...tags };
  let clean = sanitizeName(name);
  // Parts made only of characters sanitizing removes: fall back to the path rather than no name at all.
  if (clean.length === 0 && name !== path) clean = sanitizeName(path);
  return { name: clean, tags: out };
}

/**
 * Applies compiled templates to one Graphite path. A tagged path `name;k=v` has the template applied to
 * `name`, and its own tags win over the template's. Never throws; an invalid tagged suffix is ignored
 * here (the plaintext and pickle decoders reject those lines before they get this far).
 */
export function applyTemplates(t: GraphiteTemplates, path: string): GraphiteTemplateResult {
  const semi = path.indexOf(';');
  let pathTags: Tags = EMPTY_TAGS;
  let bare = path;
  if (semi >= 0) {
    const p = parseGraphitePath(path);
    bare = path.slice(0, semi);
    if (p.error === undefined) pathTags = p.tags;
  }
  const segs = bare.split('.');
  const tpl = match(t, segs);
  const r: GraphiteTemplateResult = tpl ? applyOne(tpl, segs, bare, t.separator) : { name: sanitizeName(bare), tags: EMPTY_TAGS };
  if (pathTags === EMPTY_TAGS || Object.keys(pathTags).length === 0) return r;
  if (r.tags === EMPTY_TAGS) return { name: r.name, tags: pathTags };
  return { name: r.name, tags: { ...r.tags, ...pathTags } };
}
