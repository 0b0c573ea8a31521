/**
 * A small INI reader for instrumentation configs (Tach's format): `[section]` headers, `key = value`
 * or `key: value` entries, whole-line `#` / `;` comments. Keys are case-insensitive (lowercased), values
 * are trimmed and kept verbatim. Never throws: problems come back as values with their line numbers.
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

export function parseIni(text: string): IniResult {
  const sections: IniSection[] = [];
  const problems: IniProblem[] = [];
  const seen = new Map<string, IniSection>();
  let current: IniSection | undefined;
  const lines = String(text).split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    const s = raw.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) continue;
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
      continue;
    }
    current.entries.set(key, { value, line: lineNo });
  }
  return { sections, problems };
}
