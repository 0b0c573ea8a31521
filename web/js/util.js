/** Small helpers shared by the pages: DOM building, series keys, number formatting, URL state. */

/**
 * Creates an element: h('a', { href: '#', class: 'x', onclick: fn }, 'text', child)
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith('--')) el.style.setProperty(sk, String(sv));
        else /** @type {any} */ (el.style)[sk] = sv;
      }
    }
    else if (k === 'value') /** @type {any} */ (el).value = v;
    else if (k === 'checked') /** @type {any} */ (el).checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * `name{k1=v1,k2=v2}` with sorted keys, as the server writes it.
 * @param {string} name
 * @param {Record<string, string>} tags
 */
export function seriesKey(name, tags) {
  const keys = Object.keys(tags ?? {}).sort();
  return keys.length ? `${name}{${keys.map((k) => `${k}=${tags[k]}`).join(',')}}` : name;
}

const SI = [
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];
const BIN = [
  [1024 ** 5, 'PiB'],
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/**
 * Human value with a unit: bytes in binary units, %, per second.
 * @param {number | null | undefined} v
 * @param {string} [unit]
 */
export function fmt(v, unit = '') {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  const num = (/** @type {number} */ x) => {
    const ax = Math.abs(x);
    if (Number.isInteger(x)) return String(x);
    return ax >= 100 ? x.toFixed(0) : ax >= 10 ? x.toFixed(1) : ax >= 1 ? x.toFixed(2) : ax === 0 ? '0' : x.toPrecision(2);
  };
  if (unit === 'bytes' || unit === 'bytes/s') {
    const suffix = unit === 'bytes/s' ? '/s' : '';
    for (const [f, s] of BIN) if (a >= /** @type {number} */ (f)) return num(v / /** @type {number} */ (f)) + ' ' + s + suffix;
    return num(v) + ' B' + suffix;
  }
  if (unit === '%') return num(v) + '%';
  for (const [f, s] of SI) if (a >= /** @type {number} */ (f)) return num(v / /** @type {number} */ (f)) + s + (unit ? ' ' + unit : '');
  return num(v) + (unit ? ' ' + unit : '');
}

/** @param {number} ms */
export function fmtAgo(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/**
 * "host=a,mode=user" -> { host: 'a', mode: 'user' }
 * @param {string} s
 * @returns {Record<string, string>}
 */
export function parseTags(s) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const part of (s ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** @param {Record<string, string>} tags */
export function formatTags(tags) {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Parses the hash: `#/graph?range=1h` -> { page: 'graph', params: URLSearchParams } */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const page = (q < 0 ? raw : raw.slice(0, q)) || 'overview';
  return { page, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/**
 * Builds a hash link for a page with parameters (empty values are left out).
 * @param {string} page
 * @param {Record<string, string | number | null | undefined> | URLSearchParams} [params]
 */
export function link(page, params) {
  const p = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params ?? {});
  for (const [k, v] of entries) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const qs = p.toString();
  return `#/${page}${qs ? '?' + qs : ''}`;
}

/**
 * Replaces the current view's parameters without adding history entries for every tweak.
 * @param {string} page
 * @param {Record<string, any> | URLSearchParams} params
 * @param {boolean} [push]
 */
export function setRoute(page, params, push = false) {
  const url = link(page, params);
  if (push) location.hash = url;
  else {
    history.replaceState(null, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }
}

/** Series colour n from the theme. @param {number} i */
export function color(i) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--s${i % 10}`).trim() || '#1f77b4';
}

/** @param {string} name */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * Downloads a value as a JSON file.
 * @param {string} filename
 * @param {unknown} value
 */
export function downloadJson(filename, value) {
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  const a = h('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 1000);
}
