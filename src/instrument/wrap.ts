/**
 * The wrapper put around an instrumented function: it times or counts the call (until the promise
 * settles for native promises), names the metric with the `app` / `post_app` helpers when configured,
 * and leaves arguments, `this`, results and errors exactly as the original would.
 */
import type { MetricType } from './config.js';
import type { Notifier } from './notifiers.js';

/** Tach's `app`: gets the call's arguments (`this` = the receiver), returns `[args, key]` or a key. */
export type AppHelper = (...args: unknown[]) => unknown;
/** Tach's `post_app`: gets `(result, ...args)`, returns `[result, key]` or a key. */
export type PostAppHelper = (result: unknown, ...args: unknown[]) => unknown;

export interface WrapSpec {
  readonly label: string;
  readonly metric: MetricType;
  readonly notifier: Notifier;
  readonly app?: AppHelper;
  readonly postApp?: PostAppHelper;
  /** Called when a helper throws or returns something unusable (the call itself still runs). */
  readonly onHelperError?: (label: string, error: unknown) => void;
}

export const WRAPPED = Symbol.for('sonde.instrument.wrapped');

interface Wrapped {
  [WRAPPED]?: { original: Function; label: string };
}

/** The original function behind a wrapper (or the function itself). */
export function unwrap(fn: Function): Function {
  return (fn as Wrapped)[WRAPPED]?.original ?? fn;
}

export function isWrapped(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as Wrapped)[WRAPPED] !== undefined;
}

/** True when `fn` or a wrapper inside it was made for `label` (so one section never wraps twice). */
export function hasLabel(fn: unknown, label: string): boolean {
  for (let cur = fn; typeof cur === 'function'; ) {
    const w = (cur as Wrapped)[WRAPPED];
    if (w === undefined) return false;
    if (w.label === label) return true;
    cur = w.original;
  }
  return false;
}

export function wrapFunction(original: Function, spec: WrapSpec): Function {
  const { label, metric, notifier, app, postApp, onHelperError } = spec;
  const timed = metric === 'exec_time';
  const counted = metric === 'increment';
  const errorsOnly = metric === 'errors';

  const keyOf = (v: unknown, fallback: string): string =>
    typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback;

  const report = (key: string, t0: number, failed: boolean): void => {
    if (timed) notifier.timing(key, performance.now() - t0);
    else if (counted) notifier.count(key, 1);
    else if (failed) notifier.count(key, 1);
  };

  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    let key = label;
    let callArgs = args;
    if (app !== undefined) {
      try {
        const r = app.apply(this, args);
        if (Array.isArray(r)) {
          if (Array.isArray(r[0])) callArgs = r[0] as unknown[];
          key = keyOf(r[r.length - 1], label);
        } else key = keyOf(r, label);
      } catch (e) {
        onHelperError?.(label, e);
      }
    }
    const t0 = timed ? performance.now() : 0;
    let result: unknown;
    try {
      result = new.target ? Reflect.construct(original, callArgs, new.target) : original.apply(this, callArgs);
    } catch (e) {
      report(key, t0, true);
      throw e;
    }
    // Only native promises are followed: other thenables may be lazy (calling then() would start them).
    if (result instanceof Promise) {
      const self = this;
      return result.then(
        (v: unknown) => {
          if (postApp === undefined) {
            report(key, t0, false);
            return v;
          }
          const [out, k] = runPostApp(postApp, self, v, callArgs, key);
          report(k, t0, false);
          return out;
        },
        (e: unknown) => {
          report(key, t0, true);
          throw e;
        },
      );
    }
    if (postApp !== undefined) {
      const [out, k] = runPostApp(postApp, this, result, callArgs, key);
      report(k, t0, false);
      return out;
    }
    if (!errorsOnly) report(key, t0, false);
    return result;
  };

  function runPostApp(fn: PostAppHelper, self: unknown, result: unknown, args: unknown[], key: string): [unknown, string] {
    try {
      const r = fn.call(self, result, ...args);
      if (Array.isArray(r) && r.length === 2) return [r[0], keyOf(r[1], key)];
      return [result, keyOf(r, key)];
    } catch (e) {
      onHelperError?.(label, e);
      return [result, key];
    }
  }

  try {
    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  } catch {
    // cosmetic only
  }
  // Keep `new wrapped()` producing instances of the original's prototype.
  if (original.prototype !== undefined) (wrapper as { prototype: unknown }).prototype = original.prototype;
  Object.defineProperty(wrapper, WRAPPED, { value: { original, label }, enumerable: false });
  return wrapper;
}
