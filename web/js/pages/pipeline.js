/**
 * Pipeline: every input, processor and output with its throughput, drops, queue length, errors and
 * last error, from /api/v1/status polled every 2 s. Status holds counters, which move once per
 * collection interval: a rate is the difference to the poll at least one interval older, divided by
 * the time between them (between two polls 2 s apart most counters have not moved: 0/s).
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

/**
 * The poll a rate is taken against: the newest one at least `windowMs` before `at`, else the oldest.
 * @template {{ at: number }} T
 * @param {T[]} history oldest first @param {number} at @param {number} windowMs
 * @returns {T | undefined}
 */
export function baseline(history, at, windowMs) {
  let pick = history[0];
  for (const hs of history) if (at - hs.at >= windowMs) pick = hs;
  return pick;
}

/** @type {import('../app.js').Page} */
export async function render(root, _params, info) {
  const summary = h('div', { class: 'toolbar', id: 'pipeline-summary' });
  const table = h('table', { class: 'data', id: 'pipeline-table' });
  const windowMs = Math.max(POLL_MS, info.interval_ms ?? 10_000);
  const note = h('p', { class: 'muted' }, `Rates are taken over the collection interval (${windowMs / 1000} s); they appear after the first one.`);
  root.append(h('h1', null, 'Pipeline'), summary, table, note);
  /** @type {{ at: number, status: any }[]} */
  const history = [];

  const tick = async () => {
    let status;
    try {
      status = await api('/api/v1/status');
    } catch (e) {
      summary.replaceChildren(h('span', { class: 'error' }, /** @type {Error} */ (e).message));
      return;
    }
    const at = performance.now();
    const prev = baseline(history, at, windowMs) ?? null;
    // no rate before a whole interval has been seen
    const dt = prev && at - prev.at >= windowMs ? at - prev.at : 0;
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
    if (dt > 0) note.remove();
    history.push({ at, status });
    while (history.length > 2 && at - (history[1]?.at ?? at) >= windowMs) history.shift();
  };
  await tick();
  const timer = setInterval(tick, POLL_MS);
  return () => clearInterval(timer);
}
