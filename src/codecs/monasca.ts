/**
 * Monasca formats: the `POST /v2.0/metrics` body, validated against monasca-api's rules before it is
 * sent (a 422 rejects the whole request), and the alarm notification body its webhook notifier posts.
 */
import type { Point } from '../model/point.js';
import { sampleOf, type CodecError, setOwn } from './types.js';
import { seriesKey } from '../model/series.js';

export type MonascaValueMeta = Readonly<Record<string, string>>;

export interface MonascaEncodeOptions {
  /** value_meta for every point, or per point (≤ 16 entries, names ≤ 255, ≤ 2048 bytes as JSON). */
  readonly valueMeta?: MonascaValueMeta | ((p: Point) => MonascaValueMeta | undefined);
  /**
   * Replace characters Monasca forbids with `_` and cut names to 255 characters (default true);
   * when false such points are rejected with an error instead.
   */
  readonly sanitize?: boolean;
}

export interface MonascaMetric {
  name: string;
  dimensions: Record<string, string>;
  timestamp: number;
  value: number;
  value_meta?: Record<string, string>;
}

export interface MonascaEncoded {
  readonly body: string;
  readonly count: number;
  readonly rejected: number;
  readonly errors: CodecError[];
}

export const MONASCA_MAX_LENGTH = 255;
export const MONASCA_VALUE_META_MAX_ENTRIES = 16;
export const MONASCA_VALUE_META_MAX_JSON = 2048;

// monasca-common's restricted characters: names also forbid whitespace, dimensions allow spaces.
const NAME_BAD = /[<>={}(),"\\;&\s]/;
const NAME_BAD_G = /[<>={}(),"\\;&\s]+/g;
const DIM_BAD = /[<>={}(),"\\;&\r\n\t]/;
const DIM_BAD_G = /[<>={}(),"\\;&\r\n\t]+/g;

type Clean = { ok: true; value: string } | { ok: false; error: string };

function clean(s: string, what: string, forName: boolean, sanitize: boolean, noUnderscore: boolean): Clean {
  const bad = forName ? NAME_BAD : DIM_BAD;
  let v = s;
  if (bad.test(v)) {
    if (!sanitize) return { ok: false, error: `invalid characters in ${what} "${sampleOf(s, 60)}"` };
    v = v.replace(forName ? NAME_BAD_G : DIM_BAD_G, '_');
  }
  if (noUnderscore && v.startsWith('_')) {
    if (!sanitize) return { ok: false, error: `${what} "${sampleOf(s, 60)}" cannot start with "_"` };
    v = v.replace(/^_+/, '');
  }
  if (v.length > MONASCA_MAX_LENGTH) {
    if (!sanitize) return { ok: false, error: `${what} longer than ${MONASCA_MAX_LENGTH} characters` };
    v = v.slice(0, MONASCA_MAX_LENGTH);
  }
  if (v.length === 0) return { ok: false, error: `empty ${what}` };
  return { ok: true, value: v };
}

/** Checks value_meta against Monasca's limits; returns an error message or undefined. */
export function validateMonascaValueMeta(meta: MonascaValueMeta): string | undefined {
  const keys = Object.keys(meta);
  if (keys.length > MONASCA_VALUE_META_MAX_ENTRIES) {
    return `too many value_meta entries (${keys.length}, at most ${MONASCA_VALUE_META_MAX_ENTRIES})`;
  }
  for (const k of keys) {
    if (k.length === 0) return 'empty value_meta name';
    if (k.length > MONASCA_MAX_LENGTH) return `value_meta name longer than ${MONASCA_MAX_LENGTH} characters`;
  }
  if (JSON.stringify(meta).length > MONASCA_VALUE_META_MAX_JSON) {
    return `value_meta longer than ${MONASCA_VALUE_META_MAX_JSON} characters as JSON`;
  }
  return undefined;
}

/**
 * The name and dimensions a point's series has in Monasca: restricted characters become `_` (or are
 * errors without `sanitize`), a leading `_` of a dimension key is dropped, parts are cut at 255
 * characters, empty tag values left out.
 */
export function monascaSeries(p: Pick<Point, 'name' | 'tags'>, sanitize = true): { name: string; dimensions: Record<string, string> } | { error: string } {
  const name = clean(p.name, 'metric name', true, sanitize, false);
  if (!name.ok) return { error: name.error };
  const dimensions: Record<string, string> = {};
  for (const k of Object.keys(p.tags)) {
    const v = p.tags[k];
    if (!v) continue;
    const ck = clean(k, 'dimension key', false, sanitize, true);
    if (!ck.ok) return { error: ck.error };
    const cv = clean(v, 'dimension value', false, sanitize, false);
    if (!cv.ok) return { error: cv.error };
    setOwn(dimensions, ck.value, cv.value);
  }
  return { name: name.value, dimensions };
}

const tooLong = (s: string): boolean => s.length > MONASCA_MAX_LENGTH;

/** True when `monascaSeries` changes or drops anything of a point's series (checked without building). */
export function monascaChanges(p: Pick<Point, 'name' | 'tags'>): boolean {
  if (NAME_BAD.test(p.name) || tooLong(p.name)) return true;
  for (const k in p.tags) {
    const v = p.tags[k] as string;
    if (v === '' || DIM_BAD.test(k) || k.startsWith('_') || tooLong(k) || DIM_BAD.test(v) || tooLong(v)) return true;
  }
  return false;
}

/** The series a point becomes in Monasca as a `seriesKey`; undefined when it cannot be sent. */
export function monascaSeriesKey(p: Pick<Point, 'name' | 'tags'>): string | undefined {
  const s = monascaSeries(p);
  return 'error' in s ? undefined : seriesKey(s.name, s.dimensions);
}

/**
 * Encodes points as a Monasca metrics array. Points that cannot be made valid are left out, each with
 * an error, so one bad point does not make Monasca refuse the whole batch.
 */
export function encodeMonascaMetrics(points: readonly Point[], opts: MonascaEncodeOptions = {}): MonascaEncoded {
  const sanitize = opts.sanitize ?? true;
  const out: MonascaMetric[] = [];
  const errors: CodecError[] = [];
  let rejected = 0;
  const fixedMeta = typeof opts.valueMeta === 'object' ? opts.valueMeta : undefined;
  const fixedMetaError = fixedMeta ? validateMonascaValueMeta(fixedMeta) : undefined;
  for (const p of points) {
    const reject = (message: string): void => {
      rejected++;
      errors.push({ message, sample: sampleOf(p.name) });
    };
    if (!Number.isFinite(p.value)) {
      reject(`value ${p.value} cannot be sent to Monasca`);
      continue;
    }
    const series = monascaSeries(p, sanitize);
    if ('error' in series) {
      reject(series.error);
      continue;
    }
    const { name, dimensions } = series;
    const m: MonascaMetric = { name, dimensions, timestamp: Math.round(p.ts), value: p.value };
    const meta = typeof opts.valueMeta === 'function' ? opts.valueMeta(p) : fixedMeta;
    if (meta && Object.keys(meta).length > 0) {
      const metaError = meta === fixedMeta ? fixedMetaError : validateMonascaValueMeta(meta);
      if (metaError) {
        reject(metaError);
        continue;
      }
      m.value_meta = { ...meta };
    }
    out.push(m);
  }
  return { body: JSON.stringify(out), count: out.length, rejected, errors };
}

export type MonascaAlarmState = 'ALARM' | 'OK' | 'UNDETERMINED';

export interface MonascaAlarmMetric {
  readonly id: string | null;
  readonly name: string;
  readonly dimensions: Record<string, string>;
}

/** What monasca-notification's webhook notifier posts. */
export interface MonascaAlarmNotification {
  readonly alarm_id: string;
  readonly alarm_definition_id: string;
  readonly alarm_name: string;
  readonly alarm_description: string;
  /** Seconds since the epoch. */
  readonly alarm_timestamp: number;
  readonly state: MonascaAlarmState;
  readonly old_state: MonascaAlarmState | null;
  readonly message: string;
  readonly tenant_id: string;
  readonly metrics: MonascaAlarmMetric[];
}

const STATES = new Set(['ALARM', 'OK', 'UNDETERMINED']);

/** Validates a webhook notification body; returns the typed notification or what is wrong with it. */
export function parseMonascaWebhook(
  body: string | Uint8Array,
): { ok: true; notification: MonascaAlarmNotification } | { ok: false; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
  } catch {
    return { ok: false, error: 'body is not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'body is not a JSON object' };
  const o = v as Record<string, unknown>;
  const str = (k: string, optional = false): string | undefined => {
    const x = o[k];
    if (typeof x === 'string') return x;
    if (optional && (x === null || x === undefined)) return '';
    return undefined;
  };
  const fields: Record<string, string> = {};
  for (const [k, optional] of [
    ['alarm_id', false],
    ['alarm_definition_id', false],
    ['alarm_name', false],
    ['alarm_description', true],
    ['message', true],
    ['tenant_id', true],
  ] as const) {
    const s = str(k, optional);
    if (s === undefined) return { ok: false, error: `"${k}" must be a string` };
    fields[k] = s;
  }
  const ts = o['alarm_timestamp'];
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { ok: false, error: '"alarm_timestamp" must be a number' };
  const state = o['state'];
  if (typeof state !== 'string' || !STATES.has(state)) {
    return { ok: false, error: '"state" must be one of ALARM, OK, UNDETERMINED' };
  }
  const old = o['old_state'];
  if (old !== null && old !== undefined && (typeof old !== 'string' || !STATES.has(old))) {
    return { ok: false, error: '"old_state" must be one of ALARM, OK, UNDETERMINED' };
  }
  const rawMetrics = o['metrics'] ?? [];
  if (!Array.isArray(rawMetrics)) return { ok: false, error: '"metrics" must be an array' };
  const metrics: MonascaAlarmMetric[] = [];
  for (const [i, m] of rawMetrics.entries()) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return { ok: false, error: `metrics[${i}] is not an object` };
    const mo = m as Record<string, unknown>;
    if (typeof mo['name'] !== 'string') return { ok: false, error: `metrics[${i}].name must be a string` };
    const dims: Record<string, string> = {};
    const rawDims = mo['dimensions'] ?? {};
    if (rawDims === null || typeof rawDims !== 'object' || Array.isArray(rawDims)) {
      return { ok: false, error: `metrics[${i}].dimensions must be an object` };
    }
    for (const [k, dv] of Object.entries(rawDims as Record<string, unknown>)) {
      if (typeof dv !== 'string') return { ok: false, error: `metrics[${i}].dimensions.${k} must be a string` };
      setOwn(dims, k, dv);
    }
    const id = mo['id'];
    metrics.push({ id: typeof id === 'string' ? id : null, name: mo['name'] as string, dimensions: dims });
  }
  return {
    ok: true,
    notification: {
      alarm_id: fields['alarm_id'] as string,
      alarm_definition_id: fields['alarm_definition_id'] as string,
      alarm_name: fields['alarm_name'] as string,
      alarm_description: fields['alarm_description'] as string,
      alarm_timestamp: ts,
      state: state as MonascaAlarmState,
      old_state: (old ?? null) as MonascaAlarmState | null,
      message: fields['message'] as string,
      tenant_id: fields['tenant_id'] as string,
      metrics,
    },
  };
}
