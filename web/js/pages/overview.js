/**
 * Host overview: cpu by mode with the busy total, memory, load, disk usage, disk I/O and network rates
 * of one host, last hour by default, live by default: it refreshes every collection interval
 * (`[agent] interval`, from /api/v1/ui). One request fetches every panel.
 */
import { api } from '../api.js';
import { drawChart, linesOf } from '../chart.js';
import { isLive, rangeBar, refreshMs, resolveRange, withChanges } from '../range.js';
import { h, setRoute } from '../util.js';

/** @param {any} panel */
function panelLines(panel) {
  /** @type {import('../chart.js').Line[]} */
  let lines = panel.results.flatMap((/** @type {any} */ r) => linesOf(r.result, r.label));
  if (panel.id === 'cpu') {
    // "idle" dwarfs the rest; show busy = 100 - idle instead, then the busy modes
    const idle = panel.results[0]?.result?.series?.find((/** @type {any} */ s) => s.tags.mode === 'idle');
    lines = lines.filter((l) => !l.label.endsWith('mode=idle}') && l.label !== 'mode=idle');
    lines = lines.map((l) => ({ ...l, label: l.label.replace(/^cpu\.usage\{mode=(.*)\}$/, '$1') }));
    if (idle) lines.unshift({ label: 'total busy', timestamps: idle.timestamps, values: idle.values.map((/** @type {number|null} */ v) => (v === null ? null : Math.max(0, 100 - v))) });
  }
  if (panel.transform === 'busy') {
    lines = lines.map((l) => ({ ...l, label: l.label.replace(/^cpu\.usage\{cpu=(.*)\}$/, 'cpu $1'), values: l.values.map((v) => (v === null ? null : Math.max(0, 100 - v))) }));
  }
  if (panel.id === 'pressure') lines = lines.map((l) => ({ ...l, label: l.label.replace(/^pressure\.some_avg10\{resource=(.*)\}$/, '$1') }));
  if (panel.id === 'disk') lines = lines.map((l) => ({ ...l, label: l.label.replace(/^disk\.used_percent\{mount=(.*)\}$/, '$1') }));
  return lines;
}

/** @type {import('../app.js').Page} */
export async function render(root, params, info) {
  const hosts = /** @type {string[]} */ (await api('/api/v1/tags?key=host').catch(() => []));
  const host = params.get('host') ?? (hosts.includes(info.hostname) ? info.hostname : (hosts[0] ?? info.hostname));
  const go = (/** @type {Record<string, string|null>} */ c) => setRoute('overview', withChanges(params, c));
  const picker = h(
    'select',
    { 'aria-label': 'host', id: 'host-picker', onchange: (/** @type {Event} */ e) => go({ host: /** @type {HTMLSelectElement} */ (e.target).value }) },
    [...new Set([host, ...hosts])].filter(Boolean).map((x) => h('option', { value: x, selected: x === host }, x)),
  );
  root.append(
    h('div', { class: 'toolbar' }, h('h1', { style: { margin: '0 12px 0 0' } }, 'Host overview'), h('label', { class: 'muted' }, 'host ', picker)),
    rangeBar(params, go, { liveByDefault: true, intervalMs: info.interval_ms }),
  );
  const grid = h('div', { class: 'grid', id: 'overview-grid' });
  const status = h('div');
  root.append(status, grid);
  /** @type {{ destroy(): void }[]} */
  let charts = [];
  /** @type {Map<string, HTMLElement>} */
  const slots = new Map();

  const load = async () => {
    const r = resolveRange(params);
    let data;
    try {
      data = await api(`/api/v1/ui/overview?host=${encodeURIComponent(host)}&start=${Math.round(r.start)}&end=${Math.round(r.end)}`);
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(h('div', { class: 'notice error' }, /** @type {Error} */ (e).message));
      return;
    }
    for (const c of charts) c.destroy();
    charts = [];
    for (const p of data.panels) {
      let slot = slots.get(p.id);
      if (!slot) {
        const body = h('div', { class: 'chart', 'data-panel': p.id });
        slot = body;
        slots.set(p.id, body);
        grid.append(h('section', { class: 'panel' }, h('header', null, h('h2', null, p.title), h('span', { class: 'spacer' }), p.unit ? h('span', { class: 'muted' }, p.unit) : null), body));
      }
      const errs = p.results.filter((/** @type {any} */ x) => x.result?.error).map((/** @type {any} */ x) => x.result.error);
      charts.push(
        drawChart(slot, panelLines(p), {
          unit: p.unit,
          start: r.start,
          end: r.end,
          onZoom: (from, to) => go({ from: String(from), to: String(to), range: null, live: null }),
        }),
      );
      if (errs.length) slot.append(h('div', { class: 'muted' }, errs.join('; ')));
    }
  };
  await load();
  let refreshes = 0;
  const timer = isLive(params, true)
    ? setInterval(() => {
        void load().then(() => (grid.dataset.refreshes = String(++refreshes)));
      }, refreshMs(info.interval_ms))
    : undefined;
  return () => {
    if (timer) clearInterval(timer);
    for (const c of charts) c.destroy();
  };
}
