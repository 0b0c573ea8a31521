/**
 * Pipeline: every input, processor and output with its throughput, drops, queue length, errors and
 * last error, from /api/v1/status polled every 2 s. Status holds counters; rates are their
 * differences between two polls divided by the time between them.
 */
import { api } from '../api.js';
import { fmt, fmtAgo, h } from '../util.js';

const POLL_MS = 2000;

/**
 * Sum of the metrics whose name (before any `{tags}`) is `name`.
 * @param {Record<string, number>} metrics @param {string} name
 */
export function sumOf(metrics, name) {
  let total = 0;
  let found = false;
  for (const [k, v] of Object.entries(metrics ?? {})) {
    const base = k.includes('{') ? k.slice(0, k.indexOf('{')) : k;
    if (base === name) {
      total += v;
      found = true;
    }
  }
  return found ? total : null;
}

/**
 * Per-second rate of a counter between two snapshots, or null without both.
 * @param {number | null} now @param {number | null} before @param {number} dtMs
 */
export function rate(now, before, dtMs) {
  if (now === null || before === null || dtMs <= 0) return null;
  // a restart resets counters: no negative rates
  return now >= before ? ((now - before) * 1000) / dtMs : null;
}

/** @param {Record<string, number>} m */
function errorsOf(m) {
  let n = 0;
  for (const [k, v] of Object.entries(m ?? {})) if (/(^|_)errors(\{|$)/.test(k) || /_errors\{/.test(k)) n += v;
  return n;
}

/** @type {import('../app.js').Page} */
export async function render(root) {
  const summary = h('div', { class: 'toolbar', id: 'pipeline-summary' });
  const table = h('table', { class: 'data', id: 'pipeline-table' });
  const note = h('p', { class: 'muted' }, 'Rates need two polls; they appear after 2 seconds.');
  root.append(h('h1', null, 'Pipeline'), summary, table, note);
  /** @type {{ at: number, status: any } | null} */
  let prev = null;

  const tick = async () => {
    let status;
    try {
      status = await api('/api/v1/status');
    } catch (e) {
      summary.replaceChildren(h('span', { class: 'error' }, /** @type {Error} */ (e).message));
      return;
    }
    const at = performance.now();
    const dt = prev ? at - prev.at : 0;
    /** @type {Map<string, any>} */
    const before = new Map((prev?.status.metrics ?? []).map((/** @type {any} */ p) => [p.id, p]));
    /** @type {Map<string, any>} */
    const byId = new Map((status.metrics ?? []).map((/** @type {any} */ p) => [p.id, p]));
    const g = status.global ?? {};
    const pg = prev?.status.global ?? {};
    const processed = rate(sumOf(g, 'pipeline.points_processed'), prev ? sumOf(pg, 'pipeline.points_processed') : null, dt);
    const st = status.store;
    const stRate = st && prev?.status.store ? rate(st.pointsWritten, prev.status.store.pointsWritten, dt) : null;
    summary.replaceChildren(
      h('span', { class: 'badge' }, `uptime ${fmtAgo(status.uptime_ms).replace(' ago', '')}`),
      h('span', { class: 'badge' }, `pipeline queue ${fmt(sumOf(g, 'pipeline.queue_length') ?? 0)}`),
      h('span', { class: 'badge' }, `processed ${processed === null ? '–' : fmt(processed)}/s`),
      st ? h('span', { class: 'badge' }, `store: ${fmt(st.series)} series · ${stRate === null ? '–' : fmt(stRate)} points/s · ${fmt(st.diskBytes + st.walBytes, 'bytes')} on disk`) : h('span', { class: 'badge' }, 'store disabled'),
    );
    const rows = (status.plugins ?? []).map((/** @type {any} */ p) => {
      const m = byId.get(p.id)?.metrics ?? {};
      const pm = before.get(p.id)?.metrics;
      const inName = p.kind === 'output' ? 'points_written' : 'points_gathered';
      const through = rate(sumOf(m, inName), pm ? sumOf(pm, inName) : null, dt);
      const dropped = sumOf(m, 'points_dropped') ?? 0;
      const dropRate = rate(dropped, pm ? (sumOf(pm, 'points_dropped') ?? 0) : null, dt);
      const last = byId.get(p.id)?.lastError;
      return h(
        'tr',
        { 'data-plugin': p.id },
        h('td', null, h('span', { class: `badge ${p.kind}` }, p.kind)),
        h('td', null, h('strong', null, p.id), p.name !== p.id ? h('span', { class: 'muted' }, ` (${p.name})`) : null),
        h('td', { class: 'num', 'data-col': 'rate' }, through === null ? '–' : `${fmt(through)}/s`),
        h('td', { class: 'num' }, fmt(sumOf(m, inName) ?? 0)),
        h('td', { class: 'num' }, `${fmt(dropped)}${dropRate ? ` (${fmt(dropRate)}/s)` : ''}`),
        h('td', { class: 'num' }, sumOf(m, 'queue_length') === null ? '–' : fmt(sumOf(m, 'queue_length'))),
        h('td', { class: 'num' }, fmt(errorsOf(m))),
        h('td', { class: last ? 'error' : 'muted' }, last ? `${last.message} (${fmtAgo(Date.now() - last.at)})` : '–'),
      );
    });
    table.replaceChildren(
      h('thead', null, h('tr', null, ['Kind', 'Plugin', 'Rate', 'Total', 'Dropped', 'Queue', 'Errors', 'Last error'].map((t) => h('th', null, t)))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: '8', class: 'muted' }, 'No plugins configured.'))),
    );
    if (prev) note.remove();
    prev = { at, status };
  };
  await tick();
  const timer = setInterval(tick, POLL_MS);
  return () => clearInterval(timer);
}
