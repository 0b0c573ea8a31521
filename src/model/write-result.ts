/** The outcome of one write, as a value: outputs and network clients never throw. */
export interface WriteResult {
  readonly ok: boolean;
  /** Points the backend refused as bad data: dropped and counted, never retried. */
  readonly rejected?: number;
  /** When not ok: true if the same batch may succeed later (network error, 5xx, 429). */
  readonly retryable?: boolean;
  readonly error?: string;
  /** A server's Retry-After, in ms. */
  readonly retryAfterMs?: number;
}
