/**
 * The dashboard's entry: theme (OS preference plus a remembered toggle), hash routing so every view
 * is a shareable URL, and page lifecycles (each page returns a cleanup for timers and charts).
 */
import { api, initToken } from './api.js';
import { currentRoute, h } from './util.js';
import { setUnitTable } from './units.js';
import * as overview from './pages/overview.js';
import * as browser from './pages/browser.js';
import * as graph from './pages/graph.js';
import * as dashboards from './pages/dashboards.js';
import * as pipeline from './pages/pipeline.js';
import * as alerts from './pages/alerts.js';

/** @typedef {import('../../src/http/ui-types.js').UiInfo} Info */
/** @typedef {(root: HTMLElement, params: URLSearchParams, info: Info) => (void | (() => void)) | Promise<void | (() => void)>} Page */

/** @type {Record<string, { render: Page }>} */
const PAGES = { overview, browser, graph, dashboards, dashboard: dashboards, alerts, pipeline };

const THEME_KEY = 'sonde.theme';

function applyTheme() {
  const t = localStorage.getItem(THEME_KEY);
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme() {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : matchMedia('(prefers-color-scheme: dark)').matches;
  localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
  applyTheme();
  route();
}

/** @type {Info} */
let info = { hostname: '', store: true, version: null, now: 0, interval_ms: 10_000, units: { exact: {}, patterns: [] }, warnings: [] };
/** @type {(() => void) | void} */
let cleanup;
let generation = 0;

async function route() {
  const gen = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  const { page, params } = currentRoute();
  for (const a of document.querySelectorAll('#nav a')) {
    const p = /** @type {HTMLElement} */ (a).dataset.page;
    a.classList.toggle('active', p === page || (page === 'dashboard' && p === 'dashboards'));
  }
  const root = /** @type {HTMLElement} */ (document.getElementById('view'));
  root.replaceChildren();
  const mod = PAGES[page];
  if (!mod) {
    root.append(h('p', null, 'No such page. ', h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  try {
    const c = await mod.render(root, params, info);
    if (gen !== generation) {
      if (typeof c === 'function') c();
    } else cleanup = c;
  } catch (e) {
    root.append(h('div', { class: 'notice error' }, `Could not render: ${/** @type {Error} */ (e).message}`));
  }
}

/**
 * What did not start (a default port taken) stays in view above every page.
 * @param {Info['warnings']} warnings
 */
function showWarnings(warnings) {
  if (!warnings.length) return;
  const box = h('div', { class: 'notice warn', id: 'agent-warnings' }, warnings.map((w) => h('div', null, h('strong', null, w.id), `: ${w.message}`, w.hint ? h('span', { class: 'muted' }, ` (${w.hint})`) : null)));
  document.querySelector('main')?.before(box);
}

/** The number of alerts in ALARM next to the Alerts link, on every page. */
async function pollAlerts() {
  const el = document.getElementById('alerts-count');
  if (!el) return;
  try {
    /** @type {import('../../src/alerting/api-types.js').AlertsResponse} */
    const r = await api('/api/v1/alerts');
    const n = r.alerts.filter((a) => a.state === 'ALARM').length;
    el.textContent = n > 0 ? String(n) : '';
  } catch {
    el.textContent = '';
  }
}

async function main() {
  initToken();
  applyTheme();
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => route());
  document.getElementById('theme-toggle')?.addEventListener('click', toggleTheme);
  try {
    info = await api('/api/v1/ui');
    setUnitTable(info.units);
    showWarnings(info.warnings);
    const label = document.getElementById('host-label');
    if (label) label.textContent = `${info.hostname}${info.version ? ' · sonde ' + info.version : ''}`;
  } catch (e) {
    const root = /** @type {HTMLElement} */ (document.getElementById('view'));
    root.replaceChildren(h('div', { class: 'notice error' }, `Cannot reach the agent API: ${/** @type {Error} */ (e).message}`));
    return;
  }
  window.addEventListener('hashchange', () => route());
  pollAlerts();
  setInterval(pollAlerts, 30_000);
  await route();
}

main();
