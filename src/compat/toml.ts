/**
 * Writes a sonde config object as TOML with comments: `[agent]` and other plain tables as sections,
 * arrays of tables (`inputs.exec`) as `[[inputs.exec]]`, small maps inside them as inline tables.
 * Comments are attached by section path (`agent`, `inputs.exec.0`) so generated configs explain
 * themselves.
 */
export type TomlValue = string | number | boolean | TomlValue[] | { [k: string]: TomlValue };
export type TomlTable = { [k: string]: TomlValue };

export interface TomlOptions {
  /** Comment lines at the top of the file. */
  header?: string[];
  /** Comment lines written just above a section, keyed by its path: `agent`, `outputs.influxdb.0`. */
  comments?: Record<string, string[]>;
}

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isTableArray(v: TomlValue | undefined): v is TomlTable[] {
  return Array.isArray(v) && v.length > 0 && v.every(isTable);
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : str(k);
}

function str(s: string): string {
  // JSON escapes are valid TOML basic-string escapes; DEL must be escaped in TOML but not in JSON.
  return JSON.stringify(s).replace(/\u007f/g, '\\u007F');
}

function scalar(v: TomlValue): string {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    // Beyond 2^53 a TOML integer would not read back as the same number: write a float.
    if (Number.isInteger(v)) return Number.isSafeInteger(v) ? v.toFixed(0) : v.toExponential();
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  const entries = Object.entries(v);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([k, x]) => `${key(k)} = ${scalar(x)}`).join(', ')} }`;
}

function comment(lines: string[] | undefined): string {
  return (lines ?? []).map((l) => (l === '' ? '#' : `# ${l}`)).join('\n') + (lines && lines.length > 0 ? '\n' : '');
}

function writeTable(path: string[], t: TomlTable, opts: TomlOptions, inArrayItem: boolean, out: string[]): void {
  const body: string[] = [];
  const subTables: [string, TomlTable][] = [];
  const tableArrays: [string, TomlTable[]][] = [];
  for (const [k, v] of Object.entries(t)) {
    if (isTable(v) && !inArrayItem) subTables.push([k, v]);
    else if (isTableArray(v) && !inArrayItem) tableArrays.push([k, v]);
    else body.push(`${key(k)} = ${scalar(v)}`);
  }
  const note = path.length > 0 ? comment(opts.comments?.[path.join('.')]) : '';
  if (body.length > 0) {
    if (path.length > 0) out.push(`${note}[${path.map(key).join('.')}]\n${body.join('\n')}`);
    else out.push(body.join('\n'));
  } else if (note !== '') {
    out.push(note.trimEnd()); // a table with only sub-tables keeps its comment above them
  }
  for (const [k, v] of subTables) writeTable([...path, k], v, opts, false, out);
  for (const [k, arr] of tableArrays) {
    arr.forEach((item, i) => {
      const p = [...path, k];
      const lines: string[] = [];
      for (const [ik, iv] of Object.entries(item)) lines.push(`${key(ik)} = ${scalar(iv)}`);
      out.push(`${comment(opts.comments?.[`${p.join('.')}.${i}`])}[[${p.map(key).join('.')}]]${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`);
    });
  }
}

/** Removes empty tables (recursively), which `toToml` would not write anyway. */
export function pruneEmpty(t: TomlTable): TomlTable {
  const out: TomlTable = {};
  for (const [k, v] of Object.entries(t)) {
    if (isTable(v)) {
      const inner = pruneEmpty(v);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}

/** Writes `config` as TOML; empty tables are left out (they mean the same as absent ones). */
export function toToml(config: TomlTable, opts: TomlOptions = {}): string {
  const out: string[] = [];
  writeTable([], pruneEmpty(config), opts, false, out);
  const head = comment(opts.header);
  return head + (head ? '\n' : '') + out.filter((s) => s.trim() !== '').join('\n\n') + '\n';
}
