/**
 * Maps key paths of a TOML document to the line that defines them, so config errors can say
 * `sonde.toml:12`. A line scanner, not a parser: smol-toml parses, this only finds where keys are.
 * Array-of-table headers are numbered (`inputs.cpu[0]`, `inputs.cpu[1]`), and a plain table header
 * `[inputs.cpu]` is also reachable as `inputs.cpu[0]`.
 */
export type KeyPath = ReadonlyArray<string | number>;

function splitDotted(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '.') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') return line.slice(0, i);
  }
  return line;
}

/** One open bracket of an array value being scanned: `[` (elements counted) or `{` (an inline table). */
interface Level {
  readonly array: boolean;
  idx: number;
  expecting: boolean;
}

export class KeyLocator {
  private readonly lines = new Map<string, number>();

  constructor(source: string) {
    const counts = new Map<string, number>();
    let table: string[] = [];
    // a plain `[a.b]` table is also addressed as `a.b[0]` (errors come with the instance index)
    let tableAlt: string[] | null = null;
    let inMultiline: string | null = null;
    // an array value spanning lines: the key paths it is recorded under, and its open brackets
    let arr: { paths: string[][]; stack: Level[] } | null = null;
    const src = source.split(/\r?\n/);
    for (let n = 0; n < src.length; n++) {
      const raw = src[n] as string;
      if (inMultiline) {
        if (raw.includes(inMultiline)) inMultiline = null;
        continue;
      }
      if (arr) {
        if (this.scanArray(arr, raw, n + 1)) arr = null;
        continue;
      }
      const line = stripComment(raw).trim();
      if (line === '') continue;
      let m = /^\[\[\s*(.+?)\s*\]\]$/.exec(line);
      if (m) {
        const base = splitDotted(m[1] as string);
        const k = base.join('.');
        const idx = counts.get(k) ?? 0;
        counts.set(k, idx + 1);
        table = [...base, String(idx)];
        tableAlt = null;
        this.set(base, n + 1, false);
        this.set(table, n + 1, true);
        continue;
      }
      m = /^\[\s*(.+?)\s*\]$/.exec(line);
      if (m) {
        table = splitDotted(m[1] as string);
        tableAlt = [...table, '0'];
        this.set(table, n + 1, true);
        this.set(tableAlt, n + 1, false);
        continue;
      }
      m = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=\s*(.*)$/.exec(line);
      if (m) {
        const key = splitDotted(m[1] as string);
        const paths = tableAlt ? [[...table, ...key], [...tableAlt, ...key]] : [[...table, ...key]];
        for (const p of paths) this.set(p, n + 1, true);
        const value = m[2] as string;
        if (value.startsWith('"""') && !value.slice(3).includes('"""')) inMultiline = '"""';
        else if (value.startsWith("'''") && !value.slice(3).includes("'''")) inMultiline = "'''";
        else if (value.startsWith('[')) {
          const a = { paths, stack: [] as Level[] };
          if (!this.scanArray(a, value, n + 1)) arr = a;
        } else if (value.startsWith('{')) {
          // inline table: record its keys on the same line
          for (const km of value.matchAll(/([A-Za-z0-9_-]+)\s*=/g)) {
            for (const p of paths) this.set([...p, km[1] as string], n + 1, false);
          }
        }
      }
    }
  }

  /**
   * Scans one line of an array value, recording the line where each element starts (nested arrays'
   * elements too: `key[1][0]`). True once the outermost bracket is closed.
   */
  private scanArray(arr: { paths: string[][]; stack: Level[] }, text: string, line: number): boolean {
    const { stack } = arr;
    let quote: string | null = null;
    const start = (): void => {
      const top = stack[stack.length - 1];
      if (!top?.array || !top.expecting) return;
      top.expecting = false;
      const idx = stack.filter((l) => l.array).map((l) => String(l.idx));
      for (const p of arr.paths) this.set([...p, ...idx], line, false);
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (quote) {
        if (ch === '\\' && quote === '"') i++;
        else if (ch === quote) quote = null;
        continue;
      }
      if (ch === '#') break;
      if (ch === ' ' || ch === '\t') continue;
      if (ch === '[' || ch === '{') {
        start();
        stack.push({ array: ch === '[', idx: 0, expecting: ch === '[' });
      } else if (ch === ']' || ch === '}') {
        stack.pop();
        if (stack.length === 0) return true;
      } else if (ch === ',') {
        const top = stack[stack.length - 1];
        if (top?.array) {
          top.idx++;
          top.expecting = true;
        }
      } else {
        start();
        if (ch === '"' || ch === "'") quote = ch;
      }
    }
    return false;
  }

  private set(path: string[], line: number, overwrite: boolean): void {
    const k = path.join('.');
    if (overwrite || !this.lines.has(k)) this.lines.set(k, line);
  }

  /** The line of the key, or of its closest ancestor that has one; undefined if none. */
  line(path: KeyPath): number | undefined {
    const parts = path.map(String);
    for (let n = parts.length; n > 0; n--) {
      const hit = this.lines.get(parts.slice(0, n).join('.'));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** The line of exactly this key (no ancestor fallback). */
  exact(path: KeyPath): number | undefined {
    return this.lines.get(path.map(String).join('.'));
  }
}

/** Formats a key path for messages: `inputs.cpu[0].percpu`. */
export function formatKeyPath(path: KeyPath): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number' || /^\d+$/.test(p)) s += `[${p}]`;
    else s += s ? '.' + p : p;
  }
  return s;
}
