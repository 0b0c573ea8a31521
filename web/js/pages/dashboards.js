/**
 * Saved dashboards: the list (open, export, delete, import a JSON file, create) and one dashboard's
 * panels with a shared time range. Dashboards live on the agent in <data_dir>/dashboards/<id>.json.
 */
import { api } from '../api.js';
import { rangeBar, refreshMs, resolveRange, withChanges } from '../range.js';
import { currentRoute, downloadJson, fmtAgo, h, link, setRoute } from '../util.js';
import { drawSpecs, normalize } from './graph.js';

/**
 * Light checks before upload; the server validates fully and its messages are shown as well.
 * @param {any} d @returns {string[]}
 */
export function checkDashboard(d) {
  const errors = [];
  if (!d || typeof d !== 'object' || Array.isArray(d)) return ['the file is not a JSON object'];
  if (typeof d.title !== 'string' || !d.title) errors.push('title: missing');
  if (d.panels !== undefined && !Array.isArray(d.panels)) errors.push('panels: must be a list');
  for (const [i, p] of (Array.isArray(d.panels) ? d.panels : []).entries()) {
    if (!p || !Array.isArray(p.series) || p.series.length === 0) errors.push(`panels.${i}.series: at least one series`);
  }
  return errors;
}

/** @param {string} title */
function slug(title) {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || `d-${Date.now().toString(36)}`;
}

/** @type {import('../app.js').Page} */
export async function render(root, params, info) {
  if (currentRoute().page === 'dashboard' && params.get('id')) return renderOne(root, params, info);
  const msg = h('div', { id: 'dash-msg' });
  const list = /** @type {any[]} */ (await api('/api/v1/dashboards'));
  const file = h('input', {
    type: 'file',
    accept: 'application/json,.json',
    id: 'import-file',
    style: { display: 'none' },
    onchange: async (/** @type {any} */ e) => {
      const f = e.target.files?.[0];
      if (!f) return;
      let d;
      try {
        d = JSON.parse(await f.text());
      } catch {
        msg.replaceChildren(h('div', { class: 'notice error' }, `${f.name}: not valid JSON`));
        return;
      }
      const errs = checkDashboard(d);
      if (errs.length) {
        msg.replaceChildren(h('div', { class: 'notice error' }, `${f.name}: ${errs.join('; ')}`));
        return;
      }
      const id = typeof d.id === 'string' && d.id ? d.id : slug(d.title);
      try {
        const saved = await api(`/api/v1/dashboards/${encodeURIComponent(id)}`, { method: 'PUT', body: { ...d, id } });
        setRoute('dashboard', { id: saved.id }, true);
      } catch (err) {
        msg.replaceChildren(h('div', { class: 'notice error' }, `${f.name}: ${/** @type {Error} */ (err).message}`));
      }
    },
  });
  const create = async () => {
    const title = prompt('Dashboard title');
    if (!title) return;
    try {
      const saved = await api(`/api/v1/dashboards/${encodeURIComponent(slug(title))}`, { method: 'PUT', body: { title, panels: [] } });
      setRoute('dashboard', { id: saved.id }, true);
    } catch (e) {
      msg.replaceChildren(h('div', { class: 'notice error' }, /** @type {Error} */ (e).message));
    }
  };
  root.append(
    h('div', { class: 'toolbar' }, h('h1', { style: { margin: '0 12px 0 0' } }, 'Dashboards'), h('button', { type: 'button', class: 'primary', onclick: create }, 'New'), h('button', { type: 'button', onclick: () => file.click() }, 'Import JSON…'), file),
    msg,
  );
  if (list.length === 0) {
    root.append(h('p', { class: 'muted' }, 'No saved dashboards yet. Build a chart in the ', h('a', { href: '#/graph' }, 'graph builder'), ' and choose “Add to dashboard”, or import a JSON file.'));
    return;
  }
  root.append(
    h(
      'table',
      { class: 'data', id: 'dashboard-list' },
      h('thead', null, h('tr', null, h('th', null, 'Title'), h('th', null, 'Id'), h('th', null, 'Panels'), h('th', null, 'Updated'), h('th', null, ''))),
      h(
        'tbody',
        null,
        list.map((d) =>
          h(
            'tr',
            { 'data-id': d.id },
            h('td', null, h('a', { href: link('dashboard', { id: d.id }) }, d.title)),
            h('td', { class: 'muted' }, d.id),
            h('td', { class: 'num' }, String(d.panels)),
            h('td', { class: 'muted' }, d.updated ? fmtAgo(Date.now() - d.updated) : '–'),
            h(
              'td',
              null,
              h('button', { type: 'button', onclick: async () => downloadJson(`${d.id}.json`, await api(`/api/v1/dashboards/${encodeURIComponent(d.id)}`)) }, 'Export'),
              ' ',
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  onclick: async () => {
                    if (!confirm(`Delete dashboard “${d.title}”?`)) return;
                    await api(`/api/v1/dashboards/${encodeURIComponent(d.id)}`, { method: 'DELETE' });
                    setRoute('dashboards', {});
                  },
                },
                'Delete',
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** @param {HTMLElement} root @param {URLSearchParams} params */
/** @param {HTMLElement} root @param {URLSearchParams} params @param {import('../app.js').Info} info */
async function renderOne(root, params, info) {
  const id = params.get('id') ?? '';
  let d;
  try {
    d = await api(`/api/v1/dashboards/${encodeURIComponent(id)}`);
  } catch (e) {
    root.append(h('div', { class: 'notice error' }, /** @type {Error} */ (e).message), h('a', { href: '#/dashboards' }, 'All dashboards'));
    return;
  }
  const p = params.has('range') || params.has('from') ? params : withChanges(params, { range: d.range ?? '1h' });
  const go = (/** @type {Record<string, string|null>} */ c) => setRoute('dashboard', withChanges(p, c));
  const persist = async () => {
    await api(`/api/v1/dashboards/${encodeURIComponent(d.id)}`, { method: 'PUT', body: d });
    setRoute('dashboard', p);
  };
  root.append(
    h(
      'div',
      { class: 'toolbar' },
      h('h1', { style: { margin: '0 12px 0 0' }, id: 'dashboard-title' }, d.title),
      h('a', { href: '#/dashboards' }, 'all dashboards'),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', onclick: () => downloadJson(`${d.id}.json`, d) }, 'Export'),
    ),
    rangeBar(p, go),
  );
  if (d.panels.length === 0) root.append(h('p', { class: 'muted' }, 'No panels yet: add charts from the ', h('a', { href: '#/graph' }, 'graph builder'), '.'));
  const grid = h('div', { class: 'grid' });
  root.append(grid);
  /** @type {{ destroy(): void }[]} */
  let charts = [];
  const slots = d.panels.map((/** @type {any} */ panel, /** @type {number} */ i) => {
    const body = h('div', { class: 'chart', 'data-panel': String(i) });
    grid.append(
      h(
        'section',
        { class: 'panel' },
        h(
          'header',
          null,
          h('h2', null, panel.title || panel.series.map((/** @type {any} */ s) => s.name).join(', ')),
          h('span', { class: 'spacer' }),
          h('a', { href: link('graph', { s: JSON.stringify(panel.series), range: p.get('range') }) }, 'edit in builder'),
          h('button', { type: 'button', class: 'danger', title: 'remove panel', onclick: () => { d.panels.splice(i, 1); persist(); } }, '×'),
        ),
        body,
      ),
    );
    return body;
  });
  const load = async () => {
    const rr = resolveRange(p);
    const next = await Promise.all(d.panels.map((/** @type {any} */ panel, /** @type {number} */ i) => drawSpecs(slots[i], panel.series.map(normalize), rr, { height: 240, onZoom: (f, t) => go({ from: String(f), to: String(t), range: null, live: null }) })));
    for (const c of charts) c.destroy();
    charts = next;
  };
  await load();
  const timer = p.get('live') === '1' ? setInterval(load, refreshMs(info.interval_ms)) : undefined;
  return () => {
    if (timer) clearInterval(timer);
    for (const c of charts) c.destroy();
  };
}
