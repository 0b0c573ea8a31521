/**
 * Units of metrics in the browser: the same table the server uses (src/model/units.ts), sent in
 * /api/v1/ui, so axes and cards say %, GiB or /s as `sonde graph` does.
 */

/** @typedef {import('../../src/model/units.js').Unit} Unit */

/** @type {{ exact: Record<string, Unit>, patterns: Array<[RegExp, Unit]> }} */
let table = { exact: {}, patterns: [] };

/** @param {import('../../src/http/ui-types.js').UiInfo['units']} t */
export function setUnitTable(t) {
  table = { exact: { ...t.exact }, patterns: t.patterns.map(([src, u]) => /** @type {[RegExp, Unit]} */ ([new RegExp(src), u])) };
}

/** @param {string} name @returns {Unit} */
export function unitOf(name) {
  const e = table.exact[name];
  if (e !== undefined) return e;
  for (const [re, u] of table.patterns) if (re.test(name)) return u;
  return '';
}

/**
 * The unit of `agg(name)`: a rate is per second (bytes -> bytes/s, a count -> ops/s).
 * @param {string} name @param {string | undefined} agg @returns {Unit}
 */
export function unitOfQuery(name, agg) {
  const u = unitOf(name);
  if (agg !== 'rate') return u;
  if (u === 'bytes') return 'bytes/s';
  if (u === '' || u === 'ops/s') return 'ops/s';
  if (u === 's') return '';
  return '/s';
}
