/**
 * Graph builder: several series (any metric, any host) in one chart, each with its bucket aggregate,
 * rate, group-by and group aggregate; time range presets, drag to zoom, custom range, live refresh.
 * The whole state lives in the URL (`s` = JSON list of series, plus the range), so a chart is a link.
 */
import { api, batch } from '../api.js';
import { drawChart, linesOf } from '../chart.js';
import { rangeBar, refreshMs, resolveRange, withChanges } from '../range.js';
import { color, formatTags, h, link, parseTags, setRoute } from '../util.js';
import { unitOfQuery } from '../units.js';

const AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'first'];
const GROUP_AGGS = ['avg', 'sum', 'min', 'max', 'count'];

/**
 * @typedef {{ name: string, tags: Record<string, string>, agg: string, rate: boolean, group_by: string[] | null, group_agg: string, label?: string }} SeriesSpec
 */

/** @param {string | null} s @returns {SeriesSpec[]} */
export function parseSpecs(s) {
  if (!s) return [];
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v.filter((x) => x && typeof x.name === 'string').map(normalize) : [];
  } catch {
    return [];
  }
}

/** @param {any} x @returns {SeriesSpec} */
export function normalize(x) {
  return {
    name: String(x.name ?? ''),
    tags: x.tags && typeof x.tags === 'object' ? x.tags : {},
    agg: AGGS.includes(x.agg) ? x.agg : 'avg',
    rate: !!x.rate,
    group_by: Array.isArray(x.group_by) ? x.group_by.map(String) : null,
    group_agg: GROUP_AGGS.includes(x.group_agg) ? x.group_agg : 'avg',
    ...(x.label ? { label: String(x.label) } : {}),
  };
}

/**
 * The batch query for a spec over a range.
 * @param {SeriesSpec} s @param {{ start: number, end: number }} r @param {number} [points]
 */
export function toQuery(s, r, points = 500) {
  /** @type {any} */
  const q = { name: s.name, tags: s.tags, agg: s.rate ? 'rate' : s.agg, start: Math.round(r.start), end: Math.round(r.end), points, limit: 50 };
  if (s.group_by) {
    q.group_by = s.group_by;
    q.group_agg = s.group_agg;
  }
  return q;
}

/**
 * Fetches the results of specs over a range (one batch).
 * @param {SeriesSpec[]} specs @param {{ start: number, end: number }} r
 */
export async function fetchSpecs(specs, r) {
  const valid = specs.filter((s) => s.name);
  const results = valid.length ? await batch(valid.map((s) => toQuery(s, r))) : [];
  return { valid, results };
}

/**
 * Draws fetched results into a chart element.
 * @param {HTMLElement} el @param {{ valid: SeriesSpec[], results: any[] }} f @param {{ start: number, end: number }} r
 * @param {{ height?: number, onZoom?: (f: number, t: number) => void }} [opts]
 */
export function drawFetched(el, f, r, opts = {}) {
  const errors = f.results.map((x, i) => (x?.error ? `${f.valid[i]?.name}: ${x.error}` : null)).filter(Boolean);
  // each line carries its unit (from the metric name, per second for rates): one axis per unit
  const lines = f.results.flatMap((x, i) => {
    const spec = f.valid[i];
    const unit = spec ? unitOfQuery(spec.name, spec.rate ? 'rate' : spec.agg) : '';
    return linesOf(x, spec?.label ?? null).map((l) => ({ ...l, unit }));
  });
  const chart = drawChart(el, lines, { height: opts.height ?? 360, start: r.start, end: r.end, ...(opts.onZoom ? { onZoom: opts.onZoom } : {}) });
  if (errors.length) el.append(h('div', { class: 'error' }, errors.join('; ')));
  return chart;
}

/**
 * Fetches and draws specs; shared with saved dashboards.
 * @param {HTMLElement} el @param {SeriesSpec[]} specs @param {{ start: number, end: number }} r
 * @param {{ height?: number, onZoom?: (f: number, t: number) => void }} [opts]
 */
export async function drawSpecs(el, specs, r, opts = {}) {
  return drawFetched(el, await fetchSpecs(specs, r), r, opts);
}

/** @type {import('../app.js').Page} */
export async function render(root, initial, info) {
  let params = initial;
  let specs = parseSpecs(params.get('s'));
  if (specs.length === 0) specs = [normalize({ name: '' })];
  const go = (/** @type {Record<string, string|null>} */ c) => setRoute('graph', withChanges(params, c));
  // edits keep the page (and the input focus): only the URL and the chart change
  const save = () => {
    params = withChanges(params, { s: JSON.stringify(specs) });
    history.replaceState(null, '', link('graph', params));
    void load();
  };
  const names = /** @type {string[]} */ (await api('/api/v1/names').catch(() => []));
  const datalist = h('datalist', { id: 'metric-names' }, names.map((n) => h('option', { value: n })));

  const rows = h('div', { class: 'series-rows', id: 'series-rows' });
  specs.forEach((s, i) => {
    const upd = (/** @type {Partial<SeriesSpec>} */ c) => {
      specs[i] = { .../** @type {SeriesSpec} */ (specs[i]), ...c };
      save();
    };
    rows.append(
      h(
        'div',
        { class: 'series-row', style: { '--swatch': color(i) }, 'data-index': String(i) },
        h('input', { class: 'metric', list: 'metric-names', placeholder: 'metric, e.g. cpu.usage', value: s.name, onchange: (/** @type {any} */ e) => upd({ name: e.target.value.trim() }) }),
        h('input', { class: 'tags', placeholder: 'tags: host=web1,mode=user', value: formatTags(s.tags), onchange: (/** @type {any} */ e) => upd({ tags: parseTags(e.target.value) }) }),
        h('label', null, 'agg', h('select', { class: 'agg', onchange: (/** @type {any} */ e) => upd({ agg: e.target.value }) }, AGGS.map((a) => h('option', { value: a, selected: a === s.agg }, a)))),
        h('label', null, h('input', { type: 'checkbox', class: 'rate', checked: s.rate, onchange: (/** @type {any} */ e) => upd({ rate: e.target.checked }) }), 'rate/s'),
        h(
          'label',
          null,
          'group by',
          h('input', {
            class: 'groupby',
            placeholder: 'none',
            title: 'tag keys, comma separated; * = all series into one',
            value: s.group_by === null ? '' : s.group_by.length === 0 ? '*' : s.group_by.join(','),
            onchange: (/** @type {any} */ e) => {
              const v = e.target.value.trim();
              upd({ group_by: v === '' ? null : v === '*' ? [] : v.split(',').map((/** @type {string} */ x) => x.trim()).filter(Boolean) });
            },
          }),
        ),
        h('label', null, 'combine', h('select', { class: 'groupagg', onchange: (/** @type {any} */ e) => upd({ group_agg: e.target.value }) }, GROUP_AGGS.map((a) => h('option', { value: a, selected: a === s.group_agg }, a)))),
        h('input', { class: 'label', placeholder: 'label', value: s.label ?? '', style: { width: '110px' }, onchange: (/** @type {any} */ e) => upd({ label: e.target.value || undefined }) }),
        h('button', { type: 'button', class: 'danger', title: 'remove', onclick: () => { specs.splice(i, 1); go({ s: JSON.stringify(specs) }); } }, '×'),
      ),
    );
  });

  const dashSelect = h('select', { 'aria-label': 'dashboard' }, h('option', { value: '' }, 'new dashboard…'));
  api('/api/v1/dashboards')
    .then((list) => list.forEach((/** @type {any} */ d) => dashSelect.append(h('option', { value: d.id }, d.title))))
    .catch(() => {});
  const msg = h('span', { class: 'muted' });
  const addToDashboard = async () => {
    const valid = specs.filter((s) => s.name);
    if (!valid.length) return;
    const title = prompt('Panel title', valid.map((s) => s.name).join(', ')) ?? '';
    const panel = { title, series: valid };
    const id = /** @type {HTMLSelectElement} */ (dashSelect).value;
    try {
      let d;
      if (id) {
        d = await api(`/api/v1/dashboards/${encodeURIComponent(id)}`);
        d.panels.push(panel);
      } else {
        const t = prompt('Dashboard title', 'My dashboard');
        if (!t) return;
        const slug = t.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'dashboard';
        d = { id: slug, title: t, range: params.get('range') ?? '1h', panels: [panel] };
      }
      const saved = await api(`/api/v1/dashboards/${encodeURIComponent(d.id)}`, { method: 'PUT', body: d });
      msg.replaceChildren('Saved to ', h('a', { href: link('dashboard', { id: saved.id }) }, saved.title));
    } catch (e) {
      msg.replaceChildren(h('span', { class: 'error' }, /** @type {Error} */ (e).message));
    }
  };

  const chartEl = h('div', { class: 'chart', id: 'graph-chart' });
  root.append(
    h('h1', null, 'Graph builder'),
    rangeBar(params, go),
    datalist,
    rows,
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', id: 'add-series', onclick: () => { specs.push(normalize({ name: '', tags: {} })); go({ s: JSON.stringify(specs) }); } }, '+ series'),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(location.href.replace(/([?&])token=[^&#]*&?/, '$1')).then(() => (msg.textContent = 'Link copied')) }, 'Copy link'),
      dashSelect,
      h('button', { type: 'button', class: 'primary', id: 'add-to-dashboard', onclick: addToDashboard }, 'Add to dashboard'),
      msg,
    ),
    h('section', { class: 'panel' }, chartEl),
  );

  /** @type {{ destroy(): void } | undefined} */
  let chart;
  let seq = 0;
  async function load() {
    const mine = ++seq;
    const r = resolveRange(params);
    const fetched = await fetchSpecs(specs, r);
    // a newer edit started meanwhile: its answer draws, not this one
    if (mine !== seq) return;
    chart?.destroy();
    chart = drawFetched(chartEl, fetched, r, { onZoom: (f, t) => go({ from: String(f), to: String(t), range: null, live: null }) });
  }
  await load();
  const timer = params.get('live') === '1' ? setInterval(load, refreshMs(info.interval_ms)) : undefined;
  return () => {
    if (timer) clearInterval(timer);
    chart?.destroy();
  };
}
