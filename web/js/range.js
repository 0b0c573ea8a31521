/**
 * Time range state kept in the URL: `range=1h` (relative, follows now) or `from`/`to` (epoch ms, after
 * a zoom or a custom pick), plus `live=1` / `live=0` for auto refresh (a page may be live by default).
 */
import { h } from './util.js';

export const PRESETS = ['15m', '1h', '6h', '24h', '7d'];
const UNIT = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** @param {string} s */
export function parseDur(s) {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(s ?? '');
  return m ? Number(m[1]) * UNIT[/** @type {'s'} */ (m[2])] : undefined;
}

/**
 * @param {URLSearchParams} params
 * @param {string} [fallback]
 * @returns {{ start: number, end: number, relative: boolean, label: string }}
 */
export function resolveRange(params, fallback = '1h') {
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  if (from > 0 && to > from) {
    return { start: from, end: to, relative: false, label: `${new Date(from).toLocaleString()} – ${new Date(to).toLocaleString()}` };
  }
  const r = params.get('range') ?? fallback;
  const d = parseDur(r) ?? 3_600_000;
  const end = Date.now();
  return { start: end - d, end, relative: true, label: `last ${r}` };
}

/** datetime-local value for an epoch ms, in local time. @param {number} ms */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * Whether a view refreshes itself: `live=1` or `live=0` in the URL, else the page's default for
 * relative ranges (a zoomed from/to range stays still).
 * @param {URLSearchParams} params @param {boolean} [byDefault]
 */
export function isLive(params, byDefault = false) {
  const v = params.get('live');
  if (v === '1') return true;
  if (v === '0') return false;
  return byDefault && !params.get('from');
}

/** How often a live view refreshes: the collection interval, at least 1 s. @param {number} [intervalMs] */
export function refreshMs(intervalMs) {
  return Math.max(1000, intervalMs ?? 10_000);
}

/**
 * The range bar: presets, custom from/to, live refresh toggle.
 * @param {URLSearchParams} params
 * @param {(changes: Record<string, string | null>) => void} onChange
 * @param {{ live?: boolean, liveByDefault?: boolean, intervalMs?: number }} [opts]
 */
export function rangeBar(params, onChange, opts = {}) {
  const cur = resolveRange(params);
  const active = params.get('from') ? null : (params.get('range') ?? '1h');
  const from = h('input', { type: 'datetime-local', value: localInput(cur.start), 'aria-label': 'from' });
  const to = h('input', { type: 'datetime-local', value: localInput(cur.end), 'aria-label': 'to' });
  const live = isLive(params, opts.liveByDefault);
  const every = refreshMs(opts.intervalMs) / 1000;
  return h(
    'div',
    { class: 'toolbar range' },
    h(
      'span',
      { class: 'group' },
      PRESETS.map((p) =>
        h('button', { type: 'button', class: p === active ? 'on' : '', 'data-range': p, onclick: () => onChange({ range: p, from: null, to: null }) }, p),
      ),
    ),
    from,
    h('span', { class: 'muted' }, 'to'),
    to,
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          const f = new Date(/** @type {HTMLInputElement} */ (from).value).getTime();
          const t = new Date(/** @type {HTMLInputElement} */ (to).value).getTime();
          if (f > 0 && t > f) onChange({ from: String(f), to: String(t), range: null, live: null });
        },
      },
      'Apply',
    ),
    opts.live === false
      ? null
      : h(
          'button',
          {
            type: 'button',
            class: live ? 'on' : '',
            title: `Refresh every ${every} s, the collection interval (relative ranges)`,
            'data-live': live ? '1' : '0',
            onclick: () => onChange(live ? { live: '0' } : { live: '1', from: null, to: null }),
          },
          live ? '● Live' : '○ Live',
        ),
    h('span', { class: 'muted' }, cur.label),
  );
}

/**
 * Applies changes to params and returns new params.
 * @param {URLSearchParams} params
 * @param {Record<string, string | null>} changes
 */
export function withChanges(params, changes) {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') p.delete(k);
    else p.set(k, v);
  }
  return p;
}
