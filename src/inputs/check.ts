/**
 * The `check` input: runs a JavaScript or TypeScript module as a collector. The module's default export
 * (or its export named `check`) is called every interval with `{ config, logger, now }` and returns
 * points as an array, a promise of one, or an async iterable. Compiled `.js`/`.mjs` modules work
 * everywhere; `.ts` modules work when the agent runs under tsx (`node --import tsx`).
 *
 * A check that throws is counted and logged and the agent goes on; a check still running when the next
 * interval comes is not started again (counted as an overrun), and its points are emitted when it ends.
 *
 * The context also carries `sonde` (check-helpers.ts): the built-in collectors' SQL clients and a
 * place to keep any client or pool between runs, closed when the agent stops.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod/v3';
import { METRIC_KINDS, type MetricKind, type Point } from '../model/point.js';
import { sanitizeName, sanitizeTags } from '../model/sanitize.js';
import { defineInput, type Input } from '../core/plugin.js';
import { rateLimited, type Logger } from '../core/logger.js';
import { checkHelpers, ServiceFailure, type CheckHelpers } from './check-helpers.js';
import type { CheckPoint } from './check-helpers.js';

const schema = z.object({
  module: z.string().min(1).describe('Path of the check module (.js, .mjs, or .ts under tsx), relative to base_dir'),
  base_dir: z.string().optional().describe("Directory relative paths are resolved against (the config file's directory)"),
  export: z.string().optional().describe('Export to call; default: the default export, else the export named "check"'),
  options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the check as `config`'),
});

/** What a check module receives. */
export interface CheckContext {
  readonly config: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
  /** The scheduled collection time, ms since the epoch. */
  readonly now: number;
  /** Service clients and resources kept between runs (see check-helpers.ts). */
  readonly sonde: CheckHelpers;
}

export type { CheckPoint };

export type CheckFn = (ctx: CheckContext) => CheckPoint[] | Promise<CheckPoint[]> | AsyncIterable<CheckPoint>;

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

/** Checks one returned item; undefined when it is not a usable point. */
export function toPoint(x: unknown, now: number): Point | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || typeof o['value'] !== 'number' || !Number.isFinite(o['value'])) return undefined;
  const name = sanitizeName(o['name']);
  if (name === '') return undefined;
  const ts = o['ts'] === undefined ? now : o['ts'];
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts <= 0) return undefined;
  const kind = o['kind'] === undefined ? 'gauge' : o['kind'];
  if (!METRIC_KINDS.includes(kind as MetricKind)) return undefined;
  let tags: Record<string, string> = {};
  const rawTags = o['tags'];
  if (rawTags !== undefined) {
    if (typeof rawTags !== 'object' || rawTags === null) return undefined;
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(rawTags)) if (typeof v === 'string' || typeof v === 'number') strings[k] = String(v);
    tags = sanitizeTags(strings);
  }
  return { name, tags, value: o['value'], ts: Math.round(ts), kind: kind as MetricKind };
}

export default defineInput({
  name: 'check',
  description: 'Runs a JavaScript/TypeScript check module every interval and collects the points it returns',
  schema,
  create(config, ctx): Input {
    const file = isAbsolute(config.module) ? config.module : resolve(config.base_dir ?? process.cwd(), config.module);
    const errors = ctx.metrics.counter('check_errors', {}, 'check runs that threw or rejected');
    const overruns = ctx.metrics.counter('overruns', {}, 'intervals skipped because the check was still running');
    const invalid = ctx.metrics.counter('points_invalid', {}, 'returned items that were not valid points');
    const loadErrors = ctx.metrics.counter('load_errors', {}, 'failed attempts to load the check module');
    const logError = rateLimited((m, f) => ctx.logger.error(m, f), 5, 60_000);
    const logWarn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const helpers = checkHelpers(ctx.logger, ctx.interval);
    const reasons = new Map<string, ReturnType<typeof ctx.metrics.counter>>();
    let fn: CheckFn | undefined;
    let running = false;

    const load = async (): Promise<CheckFn | undefined> => {
      try {
        const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        const f = config.export !== undefined ? mod[config.export] : typeof mod['default'] === 'function' ? mod['default'] : mod['check'];
        if (typeof f !== 'function') throw new Error(`${file} exports no function ${config.export ?? '(default or "check")'}`);
        return f as CheckFn;
      } catch (err) {
        loadErrors.inc();
        const message = (err as Error).message;
        ctx.metrics.lastError(`cannot load check ${file}: ${message}`);
        logError('cannot load check module', { module: file, error: message });
        return undefined;
      }
    };

    const runCheck = async (f: CheckFn, now: number): Promise<Point[]> => {
      const out: Point[] = [];
      const take = (x: unknown): void => {
        const p = toPoint(x, now);
        if (p) out.push(p);
        else invalid.inc();
      };
      try {
        const r: unknown = f({ config: config.options, logger: ctx.logger, now, sonde: helpers });
        if (isAsyncIterable(r)) {
          for await (const x of r) take(x);
        } else {
          const arr: unknown = await r;
          if (Array.isArray(arr)) for (const x of arr) take(x);
          else if (arr !== undefined) invalid.inc();
        }
      } catch (err) {
        errors.inc();
        const message = err instanceof Error ? err.message : String(err);
        ctx.metrics.lastError(message);
        if (err instanceof ServiceFailure) {
          // a service the check polls through sonde.postgres()/mysql() failed: counted by reason too
          let c = reasons.get(err.reason);
          if (!c) reasons.set(err.reason, (c = ctx.metrics.counter('errors', { reason: err.reason }, 'check runs that failed on a service, by reason')));
          c.inc();
          logError('check failed', { module: file, reason: err.reason, error: message });
        } else logError('check failed', { module: file, error: message });
      }
      return out;
    };

    return {
      async start() {
        fn = await load();
      },
      async gather(now) {
        fn ??= await load();
        if (!fn) return [];
        if (running) {
          overruns.inc();
          logWarn('check still running, interval skipped', { module: file });
          return [];
        }
        running = true;
        const job = runCheck(fn, now).finally(() => {
          running = false;
        });
        // Wait at most one interval; a slower check keeps running and emits its points when done.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), Math.max(1, ctx.interval));
        });
        const first = await Promise.race([job, late]);
        clearTimeout(timer);
        if (first !== undefined) return first;
        void job.then((points) => {
          if (points.length > 0) ctx.emit(points);
        });
        return [];
      },
      async stop() {
        await helpers.closeAll();
      },
      describe() {
        return [`check ${file}`];
      },
    };
  },
});
