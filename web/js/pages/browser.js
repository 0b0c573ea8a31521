/**
 * Metric browser: the dotted name tree with search on the left; on the right a drill-down
 * host -> plugin (first name segment) -> metric -> series, every level as cards with sparklines of
 * what is under them, tag filters as chips, and one series as a full chart at the end.
 */
import { api, batch } from '../api.js';
import { unitOfQuery } from '../units.js';
import { drawChart, linesOf } from '../chart.js';
import { rangeBar, resolveRange, withChanges } from '../range.js';
import { fmt, formatTags, h, link, parseTags, seriesKey, setRoute } from '../util.js';

const MAX_CARDS = 60;

/**
 * The names as a nested tree: { children: Map<segment, node>, name?: full name }.
 * @param {string[]} names
 */
function buildTree(names) {
  /** @typedef {{ children: Map<string, any>, name?: string }} Node */
  /** @type {Node} */
  const root = { children: new Map() };
  for (const n of names) {
    let node = root;
    for (const seg of n.split('.')) {
      if (!node.children.has(seg)) node.children.set(seg, { children: new Map() });
      node = node.children.get(seg);
    }
    node.name = n;
  }
  return root;
}

/**
 * @param {any} node
 * @param {string} current
 * @param {(name: string) => string} href
 * @param {boolean} open
 */
function renderTree(node, current, href, open) {
  const ul = h('ul');
  for (const [seg, child] of [...node.children.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (child.children.size === 0) {
      ul.append(h('li', { class: 'leaf' }, h('a', { href: href(child.name), class: child.name === current ? 'current' : '', 'data-name': child.name }, seg)));
      continue;
    }
    const inside = current.startsWith(childPrefix(child) ?? '\0');
    const det = h('details', { open: open || inside }, h('summary', null, seg), renderTree(child, current, href, open));
    if (child.name) det.append(h('div', null, h('a', { href: href(child.name), 'data-name': child.name }, `${seg} (itself)`)));
    ul.append(h('li', null, det));
  }
  return ul;
}

/** A name under the node, to know whether the current metric lies inside. @param {any} node @returns {string | undefined} */
function childPrefix(node) {
  if (node.name) return node.name.split('.').slice(0, -1).join('.') + '.';
  for (const c of node.children.values()) {
    const p = childPrefix(c);
    if (p) return p.split('.').slice(0, -2).join('.') + '.';
  }
  return undefined;
}

/** @type {import('../app.js').Page} */
export async function render(root, params) {
  const host = params.get('host') ?? '';
  const plugin = params.get('plugin') ?? '';
  const metric = params.get('metric') ?? '';
  const series = params.get('series') ?? '';
  const search = params.get('q') ?? '';
  const filters = parseTags(params.get('tags') ?? '');
  const go = (/** @type {Record<string, string|null>} */ c) => setRoute('browser', withChanges(params, c));
  const nav = (/** @type {Record<string, string|null>} */ c) => link('browser', withChanges(params, c));
  const range = resolveRange(params);

  const names = /** @type {string[]} */ (await api('/api/v1/names'));
  const treeBox = h('div', { class: 'tree', id: 'name-tree' });
  const searchBox = h('input', {
    type: 'search',
    placeholder: 'search metrics…',
    value: search,
    style: { width: '100%', marginBottom: '6px' },
    oninput: () => drawTree(),
    onchange: (/** @type {Event} */ e) => go({ q: /** @type {HTMLInputElement} */ (e.target).value || null }),
  });
  const drawTree = () => {
    const q = /** @type {HTMLInputElement} */ (searchBox).value.trim().toLowerCase();
    const shown = q ? names.filter((n) => n.toLowerCase().includes(q)) : names;
    treeBox.replaceChildren(
      searchBox,
      h('div', { class: 'muted', style: { fontSize: '12px' } }, `${shown.length} of ${names.length} metrics`),
      renderTree(buildTree(shown), metric, (n) => nav({ metric: n, plugin: n.split('.')[0] ?? '', series: null }), q !== ''),
    );
  };
  drawTree();

  const main = h('div', { id: 'browser-main' });
  root.append(h('h1', null, 'Metrics'), rangeBar(params, go, { live: false }), h('div', { class: 'browser' }, treeBox, main));

  // breadcrumbs
  const crumbs = h('div', { class: 'crumbs' }, h('a', { href: nav({ host: null, plugin: null, metric: null, series: null }) }, 'all hosts'));
  if (host) crumbs.append(' › ', h('a', { href: nav({ plugin: null, metric: null, series: null }) }, host));
  if (plugin) crumbs.append(' › ', h('a', { href: nav({ metric: null, series: null }) }, plugin));
  if (metric) crumbs.append(' › ', h('a', { href: nav({ series: null }) }, metric));
  if (series) crumbs.append(' › ', h('span', null, series));
  main.append(crumbs);
  const chips = h('div', { class: 'chips', style: { marginBottom: '8px' } });
  for (const [k, v] of Object.entries(filters)) {
    const rest = { ...filters };
    delete rest[k];
    chips.append(h('span', { class: 'chip' }, `${k}=${v}`, h('button', { type: 'button', title: 'remove filter', onclick: () => go({ tags: formatTags(rest) || null }) }, '×')));
  }
  const addFilter = h('input', {
    placeholder: 'add tag filter k=v',
    style: { width: '170px' },
    onchange: (/** @type {Event} */ e) => {
      const t = parseTags(/** @type {HTMLInputElement} */ (e.target).value);
      if (Object.keys(t).length) go({ tags: formatTags({ ...filters, ...t }) });
    },
  });
  chips.append(addFilter);
  main.append(chips);

  /** @type {{ destroy(): void }[]} */
  const charts = [];
  const cleanup = () => charts.forEach((c) => c.destroy());
  const tags = { ...filters, ...(host ? { host } : {}) };

  // level 0: hosts
  if (!host && !metric && !plugin) {
    const hosts = /** @type {string[]} */ (await api('/api/v1/tags?key=host'));
    if (hosts.length === 0) {
      main.append(h('p', { class: 'muted' }, 'No host tag in the store; pick a metric on the left.'));
      return cleanup;
    }
    await cards(
      main,
      hosts.map((x) => ({ title: x, sub: 'load average (1m)', href: nav({ host: x }), query: { name: 'load.1', tags: { ...filters, host: x }, group_by: [] } })),
      range,
      charts,
    );
    return cleanup;
  }

  const qs = new URLSearchParams({ limit: '20000' });
  for (const [k, v] of Object.entries(tags)) qs.append('tag', `${k}=${v}`);
  if (metric) qs.set('name', metric);
  else if (plugin) qs.set('name', `${plugin}.*`);
  const list = /** @type {import('../../../src/model/store-api.js').SeriesInfo[]} */ (await api(`/api/v1/series?${qs}`));
  /** Counters are shown as per-second rates: their raw totals say little. */
  const counters = new Set(list.filter((s) => s.kind === 'counter').map((s) => s.name));
  const aggOf = (/** @type {string} */ name) => (counters.has(name) ? 'rate' : undefined);

  // level 1: plugins of a host
  if (!plugin && !metric) {
    /** @type {Map<string, Set<string>>} */
    const byPlugin = new Map();
    for (const s of list) {
      const p = s.name.split('.')[0] ?? s.name;
      if (!byPlugin.has(p)) byPlugin.set(p, new Set());
      byPlugin.get(p)?.add(s.name);
    }
    const items = [...byPlugin.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([p, ms]) => {
      const first = [...ms].sort()[0] ?? p;
      return { title: p, sub: `${ms.size} metrics · ${first}`, href: nav({ plugin: p }), query: { name: first, tags, group_by: [], ...(aggOf(first) ? { agg: 'rate' } : {}) } };
    });
    await cards(main, items, range, charts);
    return cleanup;
  }

  // level 2: metrics of a plugin
  if (!metric) {
    /** @type {Map<string, { n: number, keys: Set<string> }>} */
    const byName = new Map();
    for (const s of list) {
      const e = byName.get(s.name) ?? { n: 0, keys: new Set() };
      e.n++;
      for (const k of Object.keys(s.tags)) if (k !== 'host') e.keys.add(k);
      byName.set(s.name, e);
    }
    const items = [...byName.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([n, e]) => ({
      title: n,
      sub: `${e.n} series${e.keys.size ? ' · ' + [...e.keys].join(', ') : ''}`,
      href: nav({ metric: n }),
      query: { name: n, tags, group_by: [], ...(aggOf(n) ? { agg: 'rate', group_agg: 'sum' } : {}) },
    }));
    await cards(main, items, range, charts);
    return cleanup;
  }

  // level 3: tag values and series of a metric
  if (!series) {
    /** @type {Map<string, Set<string>>} */
    const values = new Map();
    for (const s of list) for (const [k, v] of Object.entries(s.tags)) if (!(k in tags)) (values.get(k) ?? values.set(k, new Set()).get(k))?.add(v);
    for (const [k, vs] of [...values.entries()].sort()) {
      main.append(
        h(
          'div',
          { class: 'chips', style: { marginBottom: '6px' } },
          h('span', { class: 'muted' }, `${k}:`),
          [...vs].sort().slice(0, 50).map((v) => h('a', { class: 'chip', href: nav({ tags: formatTags({ ...filters, [k]: v }) }) }, v)),
          vs.size > 50 ? h('span', { class: 'muted' }, `+${vs.size - 50}`) : null,
        ),
      );
    }
    const items = list.map((s) => ({
      title: formatTags(Object.fromEntries(Object.entries(s.tags).filter(([k]) => !(k in tags)))) || s.name,
      sub: seriesKey(s.name, s.tags),
      href: nav({ series: seriesKey(s.name, s.tags) }),
      query: { name: s.name, tags: exact(s.tags), ...(s.kind === 'counter' ? { agg: 'rate' } : {}) },
    }));
    await cards(main, items, range, charts);
    return cleanup;
  }

  // level 4: one series
  const one = list.find((s) => seriesKey(s.name, s.tags) === series);
  if (!one) {
    main.append(h('p', { class: 'muted' }, 'That series is not in the store (any more).'));
    return cleanup;
  }
  const spec = [{ name: one.name, tags: exact(one.tags), agg: 'avg', rate: false, group_by: null, group_agg: 'avg' }];
  const body = h('div', { class: 'chart', id: 'series-chart' });
  main.append(
    h(
      'section',
      { class: 'panel' },
      h('header', null, h('h2', null, series), h('span', { class: 'spacer' }), h('a', { href: link('graph', { s: JSON.stringify(spec), range: params.get('range') }) }, 'open in graph builder')),
      body,
    ),
  );
  const [res] = await batch([{ name: one.name, tags: exact(one.tags), start: range.start, end: range.end, points: 600 }]);
  charts.push(drawChart(body, linesOf(res, series), { height: 320, start: range.start, end: range.end, onZoom: (f, t) => go({ from: String(f), to: String(t), range: null }) }));
  return cleanup;
}

/** Tag filters that select exactly these values (a series with more tags could still match). @param {Record<string,string>} tags */
function exact(tags) {
  return { ...tags };
}

/**
 * Cards with sparklines, one batch for all of them.
 * @param {HTMLElement} main
 * @param {{ title: string, sub: string, href: string, query: any }[]} items
 * @param {{ start: number, end: number }} range
 * @param {{ destroy(): void }[]} charts
 */
async function cards(main, items, range, charts) {
  const shown = items.slice(0, MAX_CARDS);
  const box = h('div', { class: 'cards', id: 'cards' });
  if (items.length > shown.length) main.append(h('p', { class: 'muted' }, `Showing ${shown.length} of ${items.length}; add a tag filter or search to narrow.`));
  main.append(box);
  const slots = shown.map((it) => {
    const spark = h('div', { class: 'spark chart' });
    box.append(h('a', { class: 'card', href: it.href, title: it.sub }, h('div', { class: 'title' }, it.title), h('div', { class: 'sub' }, it.sub), spark));
    return spark;
  });
  const results = await batch(shown.map((it) => ({ ...it.query, start: range.start, end: range.end, points: 60, limit: 20 })));
  results.forEach((r, i) => {
    const slot = slots[i];
    const it = shown[i];
    if (!slot || !it) return;
    const unit = unitOfQuery(it.query.name, it.query.agg);
    charts.push(drawChart(slot, linesOf(r), { spark: true, start: range.start, end: range.end, unit }));
    // the last value of the (first) series, in its unit; counters as their rate
    const s0 = r?.series?.[0];
    let last = null;
    for (let j = (s0?.values?.length ?? 0) - 1; j >= 0 && last === null; j--) last = s0.values[j];
    const value = h('div', { class: 'value', 'data-unit': unit, 'data-rate': it.query.agg === 'rate' ? '1' : '0' }, last === null ? '–' : fmt(last, unit));
    slot.before(value);
  });
}
