/**
 * Shared shapes of the codecs. Decoders never throw on bad input: they return what they could decode
 * plus one error per rejected unit (line, part, frame), so receivers can count and log them.
 */
export interface CodecError {
  /** What was wrong, in words a user can act on. */
  readonly message: string;
  /** 1-based line number for line formats. */
  readonly line?: number;
  /** Byte offset for binary formats. */
  readonly offset?: number;
  /** The offending input, truncated to at most 200 characters. */
  readonly sample?: string;
}

export interface Decoded<T> {
  readonly items: T[];
  readonly errors: CodecError[];
}

/** Truncates an offending input for an error sample. */
export function sampleOf(s: string, max = 200): string {
  return s.length <= max ? s : s.slice(0, max) + '…';
}

/**
 * Decodes text line by line for the formats read off the hot path (script output): blank lines are
 * skipped, a line `parse` rejects (returns `{ error }` for) gives that error with its 1-based number.
 */
export function decodeLines<T extends object>(text: string, parse: (line: string) => T | { readonly error: CodecError }): Decoded<T> {
  const items: T[] = [];
  const errors: CodecError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const r = parse(line);
    if ('error' in r) errors.push({ ...(r.error as CodecError), line: i + 1 });
    else items.push(r);
  }
  return { items, errors };
}

/** Sets an own property, also for the key `__proto__` (plain assignment would change the prototype). */
export function setOwn<V>(o: Record<string, V>, k: string, v: V): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
