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
