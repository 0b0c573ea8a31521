/**
 * The one glob matcher of sonde: metric names, tag values, config name lists, OpenTSDB wildcards and the
 * store's name patterns all compile here. `*` any run of characters (dots included), `?` one character
 * (unless `question: false`), `a|b` alternatives at the top level (unless `alternatives: false`).
 */
export type Matcher = (s: string) => boolean;

export interface GlobOptions {
  /** `a|b` means either (default true). */
  readonly alternatives?: boolean;
  /** `?` matches one character (default true); false keeps it literal, as OpenTSDB's wildcard does. */
  readonly question?: boolean;
  readonly ignoreCase?: boolean;
  /** `*` and `?` become capture groups (`$1`... in rename rules). */
  readonly capture?: boolean;
  /** Shell classes `[abc]`, `[a-z]`, `[!abc]` (an impossible class matches the glob literally). */
  readonly classes?: boolean;
  /** `.` matches line breaks too (default true). */
  readonly dotAll?: boolean;
}

const GLOB_CHARS = /[*?]/;

/** True when `s` holds a wildcard (`*` or `?`). */
export function isGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

const escapeChar = (ch: string): string => ch.replace(/[\\^$.|+?()[\]{}*/]/g, '\\$&');

function regexBody(glob: string, opts: GlobOptions): string {
  const question = opts.question ?? true;
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') re += opts.capture ? '(.*)' : '.*';
    else if (ch === '?' && question) re += opts.capture ? '(.)' : '.';
    else if (ch === '[' && opts.classes) {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/[\\\]]/g, '\\$&') + ']';
      i = end;
    } else re += escapeChar(ch);
  }
  return re;
}

/** The anchored RegExp of a glob. */
export function globToRegExp(glob: string, opts: GlobOptions = {}): RegExp {
  const alts = (opts.alternatives ?? true) ? glob.split('|') : [glob];
  const body = alts.map((a) => regexBody(a, opts)).join('|');
  const flags = (opts.ignoreCase ? 'i' : '') + ((opts.dotAll ?? true) ? 's' : '');
  try {
    return new RegExp(alts.length > 1 ? `^(?:${body})$` : `^${body}$`, flags);
  } catch {
    // an impossible class such as `[z-a]`: match the pattern literally rather than fail
    return new RegExp('^' + [...glob].map(escapeChar).join('') + '$', flags);
  }
}

/**
 * Compiles a glob to the cheapest test: equality, a prefix, or a RegExp. `*` and the empty glob match
 * everything (a config list entry left empty means "any").
 */
export function compileGlob(glob: string, opts: GlobOptions = {}): Matcher {
  if (glob === '*' || glob === '') return () => true;
  const alternatives = opts.alternatives ?? true;
  const single = !alternatives || !glob.includes('|');
  const wild = (opts.question ?? true) ? /[*?]/ : /\*/;
  if (!opts.ignoreCase && single && !wild.test(glob)) return (s) => s === glob;
  if (!opts.ignoreCase && single && glob.endsWith('*') && !wild.test(glob.slice(0, -1))) {
    const prefix = glob.slice(0, -1);
    return (s) => s.startsWith(prefix);
  }
  const re = globToRegExp(glob, opts);
  return (s) => re.test(s);
}

/** True if any glob matches; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[], opts: GlobOptions = {}): Matcher {
  const ms = globs.map((g) => compileGlob(g, opts));
  if (ms.length === 0) return () => false;
  if (ms.length === 1) return ms[0] as Matcher;
  return (s) => ms.some((m) => m(s));
}
