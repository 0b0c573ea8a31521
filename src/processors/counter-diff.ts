/**
 * The arithmetic shared by `rate` and `delta`: the increase of a counter between two samples, with
 * resets, wrap-around and time going backwards handled in one place.
 */
export type ResetPolicy = 'skip' | 'from_zero';
export type WrapBits = 0 | 32 | 64;

export interface Sample {
  readonly v: number;
  readonly ts: number;
}

export type Step =
  | { readonly kind: 'first' }
  | { readonly kind: 'same_ts' }
  | { readonly kind: 'out_of_order' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'ok'; readonly diff: number; readonly dtMs: number; readonly wrapped: boolean; readonly reset: boolean };

/**
 * Compares a sample with the previous one of its series. The caller stores the new sample unless the
 * step is `same_ts` or `out_of_order`.
 *
 * A drop in value is a wrap-around only when `wrap` is set and the previous value was in the upper half
 * of the counter's range (a counter near its maximum wraps; one in the lower half that drops was
 * restarted). Otherwise it is a reset: `skip` emits nothing, `from_zero` counts the new value as the
 * increase since the restart.
 */
export function counterStep(prev: Sample | undefined, v: number, ts: number, wrap: WrapBits, onReset: ResetPolicy): Step {
  if (prev === undefined) return { kind: 'first' };
  if (ts === prev.ts) return { kind: 'same_ts' };
  if (ts < prev.ts) return { kind: 'out_of_order' };
  const dtMs = ts - prev.ts;
  if (v >= prev.v) return { kind: 'ok', diff: v - prev.v, dtMs, wrapped: false, reset: false };
  if (wrap !== 0) {
    const range = 2 ** wrap;
    if (prev.v < range && prev.v >= range / 2 && v >= 0) {
      return { kind: 'ok', diff: range - prev.v + v, dtMs, wrapped: true, reset: false };
    }
  }
  if (onReset === 'from_zero' && v >= 0) return { kind: 'ok', diff: v, dtMs, wrapped: false, reset: true };
  return { kind: 'reset' };
}
