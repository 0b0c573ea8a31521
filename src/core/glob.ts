/**
 * Globs over metric names and tag values: `*` any run of characters (dots included), `?` one character,
 * `a|b` alternatives at the top level. Compiled once to a RegExp or a cheaper test.
 */
export type Matcher = (s: string) => boolean;

function escape(s: string): string {
  return s.replace(/[\\^$+.()[\]{}]/g, '\\$&');
}

export function compileGlob(glob: string): Matcher {
  if (glob === '*' || glob === '') return () => true;
  const alts = glob.split('|');
  if (alts.length === 1 && !/[*?]/.test(glob)) return (s) => s === glob;
  if (alts.length === 1 && glob.endsWith('*') && !/[*?]/.test(glob.slice(0, -1))) {
    const prefix = glob.slice(0, -1);
    return (s) => s.startsWith(prefix);
  }
  const body = alts.map((a) => escape(a).replace(/\*/g, '.*').replace(/\?/g, '.')).join('|');
  const re = new RegExp(`^(?:${body})$`, 's');
  return (s) => re.test(s);
}

/** True if any glob matches; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[]): Matcher {
  const ms = globs.map(compileGlob);
  if (ms.length === 0) return () => false;
  if (ms.length === 1) return ms[0] as Matcher;
  return (s) => ms.some((m) => m(s));
}
