/**
 * Talking to the agent: JSON requests with the token from the first page load (kept in
 * sessionStorage and sent as `Authorization: Bearer`), errors turned into Error messages.
 */

const TOKEN_KEY = 'sonde.token';

/** Stores `?token=` from the page URL, if any, for later API calls. */
export function initToken() {
  const t = new URLSearchParams(location.search).get('token');
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
}

/** @returns {string | null} */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [opts]
 * @returns {Promise<any>}
 */
export async function api(path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  /** @type {RequestInit} */
  const init = { method: opts.method ?? 'GET', headers };
  if (opts.signal) init.signal = opts.signal;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  const text = await res.text();
  /** @type {any} */
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!res.ok) {
    const err = new Error(data?.error ? `${data.error}${data.errors ? ': ' + data.errors.join('; ') : ''}` : `HTTP ${res.status}`);
    /** @type {any} */ (err).status = res.status;
    /** @type {any} */ (err).details = data;
    throw err;
  }
  return data;
}

/**
 * Runs queries in one request. Each answer is a QueryResult or { error }.
 * @param {object[]} queries
 * @returns {Promise<any[]>}
 */
export async function batch(queries) {
  const out = [];
  // the server takes at most 64 per batch
  for (let i = 0; i < queries.length; i += 64) {
    const r = await api('/api/v1/batch', { method: 'POST', body: { queries: queries.slice(i, i + 64) } });
    out.push(...r.results);
  }
  return out;
}
