/**
 * The INI reader behind the formats sonde reads in INI form (Tach instrumentation configs, PuyPuy's
 * config.ini): `[section]` headers, `key = value` or `key: value` entries (split at the first `=` or
 * `:`), whole-line `#` / `;` comments. Keys are lower-cased like Python's ConfigParser; values are
 * trimmed. Never throws: problems come back as values with their line numbers.
 */

export interface IniEntry {
  readonly value: string;
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: Map<string, IniEntry>;
}

export interface IniProblem {
  readonly line: number;
  readonly message: string;
  readonly hint?: string;
}

export interface IniResult {
  readonly sections: IniSection[];
  readonly problems: IniProblem[];
}

export interface IniOptions {
  /** ConfigParser continuation: an indented line after an entry appends `\n` + its text to the value. */
  continuation?: boolean;
  /** A repeated key keeps the first value (default) or, like Python 2's ConfigParser, the last. */
  repeatedKey?: 'first' | 'last';
}

export function parseIni(text: string, options: IniOptions = {}): IniResult {
  const continuation = options.continuation ?? false;
  const keepLast = options.repeatedKey === 'last';
  const sections: IniSection[] = [];
  const problems: IniProblem[] = [];
  const seen = new Map<string, IniSection>();
  let current: IniSection | undefined;
  // the entry an indented line continues; any other kind of line ends it
  let lastKey: string | undefined;
  const lines = String(text).split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    const s = raw.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) {
      lastKey = undefined;
      continue;
    }
    if (continuation && current && lastKey !== undefined && /^\s/.test(raw)) {
      const prev = current.entries.get(lastKey);
      current.entries.set(lastKey, { value: `${prev?.value ?? ''}\n${s}`.trim(), line: prev?.line ?? lineNo });
      continue;
    }
    lastKey = undefined;
    if (s.startsWith('[')) {
      if (!s.endsWith(']')) {
        problems.push({ line: lineNo, message: `section header not closed: ${s.slice(0, 80)}`, hint: 'write it as [name]' });
        current = undefined;
        continue;
      }
      const name = s.slice(1, -1).trim();
      if (name === '') {
        problems.push({ line: lineNo, message: 'empty section name', hint: 'write it as [name]' });
        current = undefined;
        continue;
      }
      const dup = seen.get(name);
      if (dup) {
        problems.push({ line: lineNo, message: `section [${name}] repeats the one on line ${dup.line}`, hint: 'give each section a unique name' });
        current = dup;
        continue;
      }
      current = { name, line: lineNo, entries: new Map() };
      seen.set(name, current);
      sections.push(current);
      continue;
    }
    const eq = s.indexOf('=');
    const colon = s.indexOf(':');
    const sep = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (sep <= 0) {
      problems.push({ line: lineNo, message: `expected "key = value": ${s.slice(0, 80)}`, hint: 'comments start with # or ; at the start of a line' });
      continue;
    }
    if (!current) {
      problems.push({ line: lineNo, message: 'entry outside of any section', hint: 'put it under a [section] header' });
      continue;
    }
    const key = s.slice(0, sep).trim().toLowerCase();
    const value = s.slice(sep + 1).trim();
    const prev = current.entries.get(key);
    if (prev) {
      problems.push({ line: lineNo, message: `key "${key}" repeats the one on line ${prev.line}`, hint: 'keep one of them' });
      if (!keepLast) continue;
    }
    current.entries.set(key, { value, line: lineNo });
    lastKey = key;
  }
  return { sections, problems };
}

/**
 * The plain `{ section: { key: value } }` view that Python's ConfigParser gives: continuation lines
 * joined, a repeated key's last value kept, problems dropped (malformed lines are skipped).
 */
export function parseIniTable(text: string): Record<string, Record<string, string>> {
  const { sections } = parseIni(text, { continuation: true, repeatedKey: 'last' });
  // fromEntries defines own properties, so a section or key named __proto__ stays plain data
  return Object.fromEntries(sections.map((s) => [s.name, Object.fromEntries([...s.entries].map(([k, e]) => [k, e.value]))]));
}

/** ConfigParser's boolean words; undefined for anything else (so callers can warn). */
export function parseBool(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined;
  const v = s.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(v)) return true;
  if (['0', 'no', 'false', 'off', ''].includes(v)) return false;
  return undefined;
}
