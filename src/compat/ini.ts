/**
 * A small INI reader for Python ConfigParser files (PuyPuy's config.ini): `[section]` headers,
 * `key: value` or `key = value`, `#` and `;` comment lines, indented continuation lines appended.
 * Keys are lower-cased like ConfigParser does; values are trimmed.
 */
export type Ini = Record<string, Record<string, string>>;

export function parseIni(text: string): Ini {
  const out: Ini = {};
  let section: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(raw)) {
      lastKey = undefined;
      continue;
    }
    if (/^\s/.test(raw) && section && lastKey !== undefined) {
      section[lastKey] = `${section[lastKey] ?? ''}\n${raw.trim()}`.trim();
      continue;
    }
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      section = out[name] ??= {};
      lastKey = undefined;
      continue;
    }
    const m = /^([^:=]+?)\s*[:=]\s*(.*)$/.exec(line);
    if (!m || !section) {
      lastKey = undefined;
      continue;
    }
    lastKey = (m[1] as string).toLowerCase();
    section[lastKey] = (m[2] as string).trim();
  }
  return out;
}

/** ConfigParser's boolean words; undefined for anything else (so callers can warn). */
export function parseBool(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined;
  const v = s.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(v)) return true;
  if (['0', 'no', 'false', 'off', ''].includes(v)) return false;
  return undefined;
}
