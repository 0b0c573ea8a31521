/**
 * Alerts: every rule (the default ones and the configured ones) with its state, its last change, its
 * alerts per group and a chart of the series behind it over the last hour, with the threshold drawn
 * as a line. Polled every 10 s.
 */
import { api, batch } from '../api.js';
import { drawChart, linesOf } from '../chart.js';
import { fmt, fmtAgo, formatTags, h, link } from '../util.js';
import { unitOfQuery } from '../units.js';

/** @typedef {import('../../../src/alerting/api-types.js').AlertsResponse} AlertsResponse */
/** @typedef {import('../../../src/alerting/api-types.js').AlertRuleInfo} AlertRuleInfo */
/** @typedef {import('../../../src/alerting/api-types.js').AlertInfo} AlertInfo */

const POLL_MS = 10_000;
/** The chart of a rule spans six of its windows, 15 minutes to 6 hours. @param {number} w */
const chartWindow = (w) => Math.min(6 * 3_600_000, Math.max(15 * 60_000, 6 * w));

/** @param {string} state */
function stateBadge(state) {
  return h('span', { class: `badge state-${state.toLowerCase()}` }, state);
}


/**
 * The query that shows what a rule looks at: its selector, grouped like the rule, in about 120 buckets.
 * @param {AlertRuleInfo} r @param {number} start @param {number} end
 */
function ruleQuery(r, start, end) {
  const agg = r.agg === 'rate' ? 'rate' : r.agg === 'min' || r.agg === 'max' ? r.agg : 'avg';
  return { name: r.series.name, tags: r.series.tags, start: String(start), end: String(end), points: 120, agg, group_by: r.group_by, group_agg: r.agg === 'min' ? 'min' : 'max' };
}

/** @type {import('../app.js').Page} */
export async function render(root, _params, info) {
  const summary = h('div', { class: 'toolbar', id: 'alerts-summary' });
  const list = h('div', { class: 'alerts', id: 'alerts-list' });
  root.append(h('h1', null, 'Alerts'), summary, list);
  /** @type {{ destroy(): void }[]} */
  let charts = [];

  const tick = async () => {
    /** @type {AlertsResponse} */
    let data;
    try {
      data = await api('/api/v1/alerts');
    } catch (e) {
      summary.replaceChildren(h('span', { class: 'error' }, /** @type {Error} */ (e).message));
      return;
    }
    const rules = data.rules ?? [];
    const count = (/** @type {string} */ s) => rules.filter((r) => r.state === s).length;
    summary.replaceChildren(
      h('span', { class: 'badge state-alarm' }, `${count('ALARM')} in alarm`),
      h('span', { class: 'badge state-undetermined' }, `${count('UNDETERMINED')} undetermined`),
      h('span', { class: 'badge state-ok' }, `${count('OK')} ok`),
      h('span', { class: 'muted' }, `${rules.length} rules · refreshed every ${POLL_MS / 1000} s`),
    );
    for (const c of charts) c.destroy();
    charts = [];
    if (rules.length === 0) {
      list.replaceChildren(h('p', { class: 'muted' }, 'No alert rules. Default rules are on unless [alerting] default_rules = false; add your own in [[alerting.rules]].'));
      return;
    }
    // ALARM first, then UNDETERMINED, then OK; by name within
    const order = { ALARM: 0, UNDETERMINED: 1, OK: 2 };
    const sorted = [...rules].sort((a, b) => order[a.state] - order[b.state] || (a.name < b.name ? -1 : 1));
    const end = Date.now();
    /** @type {any[]} */
    let results = [];
    if (info.store) results = await batch(sorted.map((r) => ruleQuery(r, end - chartWindow(r.window_ms), end))).catch(() => []);
    /** @type {Map<string, AlertInfo[]>} */
    const byRule = new Map();
    for (const a of data.alerts ?? []) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a]);
    const sections = sorted.map((r, i) => {
      // the unit of what the rule compares: the metric's, per second for a rate
      const unit = unitOfQuery(r.series.name, r.agg ?? undefined);
      const alerts = (byRule.get(r.name) ?? []).sort((a, b) => order[a.state] - order[b.state]);
      const chart = h('div', { class: 'chart', 'data-rule-chart': r.name });
      const spec = { name: r.series.name, tags: r.series.tags, agg: r.agg === 'min' || r.agg === 'max' ? r.agg : 'avg', rate: r.agg === 'rate', group_by: r.group_by, group_agg: 'max' };
      const graphParams = new URLSearchParams({ s: JSON.stringify([spec]), range: '1h' });
      const section = h(
        'section',
        { class: `panel alert-rule state-${r.state.toLowerCase()}`, 'data-rule': r.name },
        h(
          'header',
          null,
          stateBadge(r.state),
          h('h2', null, r.name),
          h('span', { class: 'badge' }, r.severity),
          r.labels.origin === 'default' ? h('span', { class: 'badge' }, 'default') : null,
          h('span', { class: 'spacer' }),
          h('span', { class: 'muted', 'data-col': 'last-change' }, r.last_change ? `changed ${fmtAgo(Date.now() - r.last_change)}` : 'no change yet'),
        ),
        h('div', null, h('code', null, r.expr), r.for_ms ? h('span', { class: 'muted' }, ` for ${fmtAgo(r.for_ms).replace(' ago', '')}`) : null),
        r.description ? h('p', { class: 'muted' }, r.description) : null,
        alerts.length
          ? h(
              'table',
              { class: 'data compact' },
              h('thead', null, h('tr', null, ['State', 'Group', 'Value', 'Since'].map((t) => h('th', null, t)))),
              h(
                'tbody',
                null,
                alerts.map((a) =>
                  h(
                    'tr',
                    { 'data-alert': `${r.name}${formatTags(a.group)}` },
                    h('td', null, stateBadge(a.state)),
                    h('td', null, formatTags(a.group) || '(all)'),
                    h('td', { class: 'num' }, a.value === null ? '–' : r.agg === null ? `${fmt(a.value)} s without data` : fmt(a.value, unit)),
                    h('td', null, fmtAgo(Date.now() - a.since)),
                  ),
                ),
              ),
            )
          : null,
        chart,
        h('div', null, h('a', { href: link('graph', graphParams) }, `open ${r.series.name} in the graph builder`)),
      );
      const result = results[i];
      const lines = linesOf(result, null);
      if (r.threshold !== null && lines.length > 0) {
        const ts = lines[0]?.timestamps ?? [];
        lines.push({ label: `threshold ${r.op} ${r.threshold}`, timestamps: ts, values: ts.map(() => r.threshold) });
      }
      queueMicrotask(() => charts.push(drawChart(chart, lines, { unit, height: 160, start: end - chartWindow(r.window_ms), end })));
      return section;
    });
    list.replaceChildren(...sections);
  };
  await tick();
  const timer = setInterval(tick, POLL_MS);
  return () => {
    clearInterval(timer);
    for (const c of charts) c.destroy();
  };
}
