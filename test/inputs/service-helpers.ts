/**
 * Shared pieces of the service collector tests: a plugin instance with its log lines captured, point
 * and self-metric look-ups, a TCP server that accepts and never answers (a hung server), and counters
 * run through the real `rate` processor.
 */
import type { InputSpec, Input, PluginSchema } from '../../src/core/plugin.js';
import type { Point } from '../../src/model/point.js';
import { createLogger } from '../../src/core/logger.js';
import rate from '../../src/processors/rate.js';
import { testContext, type TestContext } from '../helpers/context.js';

import assert from 'node:assert/strict';
import { silentServer } from '../helpers/service-input.js';

/** A TCP server on 127.0.0.1 that accepts connections and never sends a byte. */
export { silentServer };

export interface Built {
  input: Input;
  ctx: TestContext;
  logs: string[];
  gather(now?: number): Promise<Point[]>;
  stop(): Promise<void>;
}

export function buildService<S extends PluginSchema>(spec: InputSpec<S>, config: Record<string, unknown>, interval = 10_000): Built {
  const logs: string[] = [];
  const ctx = testContext({ id: `inputs.${spec.name}`, interval, logger: createLogger({ level: 'info', write: (l) => logs.push(l) }) });
  const input = spec.create(spec.schema.parse(config), ctx);
  let last = 0;
  return {
    input,
    ctx,
    logs,
    async gather(now?: number) {
      // strictly increasing timestamps, as the scheduler gives them
      const ts = now ?? Math.max(Date.now(), last + 1000);
      last = ts;
      return (await input.gather?.(ts)) ?? [];
    },
    async stop() {
      await input.stop?.();
      ctx.cleanup();
    },
  };
}

export function find(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point[] {
  return points.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

/** The value of the one point named `name` with these tags; throws when there is not exactly one. */
export function val(points: readonly Point[], name: string, tags: Record<string, string> = {}): number {
  const f = find(points, name, tags);
  if (f.length !== 1) throw new Error(`expected one ${name} ${JSON.stringify(tags)}, found ${f.length}: ${JSON.stringify(f.slice(0, 3))}`);
  return (f[0] as Point).value;
}

export function selfMetric(ctx: TestContext, key: string): number {
  return ctx.selfMetrics.byPlugin().find((s) => s.id === ctx.id)?.metrics[key] ?? 0;
}

/** Runs gathers' points through one `rate` processor, in order; returns the rates of every batch. */
export function rates(batches: readonly Point[][]): Point[][] {
  const ctx = testContext({ id: 'processors.rate' });
  try {
    const p = rate.create(rate.schema.parse({}), ctx);
    return batches.map((b) => p.process(b.filter((x) => x.kind === 'counter'), b[0]?.ts ?? 0));
  } finally {
    ctx.cleanup();
  }
}

/** Polls `f` until it returns a value other than undefined (bounded). */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A server that is down (`url` gets a port nothing listens on), polled twice by `collector`: two
 * unreachable errors counted, one line logged, `<service> server not reachable ... ECONNREFUSED`.
 */
export async function assertDownLoggedOnce(collector: (config: Record<string, unknown>) => Built, url: (port: number) => string, service: string): Promise<void> {
  const dead = await silentServer();
  const port = dead.port;
  await dead.close(); // a port nothing listens on
  const p = collector({ servers: [url(port)] });
  await p.gather();
  await p.gather();
  assert.equal(selfMetric(p.ctx, 'errors{reason=unreachable}'), 2);
  assert.equal(p.logs.length, 1);
  assert.match(p.logs[0] ?? '', new RegExp(`${service} server not reachable .*reason=unreachable error="connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+"`));
}

/**
 * A server that accepts and never answers, with connect_timeout 300ms: the poll ends within
 * `withinMs`, `<service>.up` is 0, one timeout is counted and logged.
 */
export async function assertConnectTimeout(collector: (config: Record<string, unknown>) => Built, url: (port: number) => string, service: string, withinMs: number): Promise<void> {
  const hung = await silentServer();
  try {
    const p = collector({ servers: [url(hung.port)], connect_timeout: '300ms' });
    const t0 = Date.now();
    const pts = await p.gather();
    assert.ok(Date.now() - t0 < withinMs, `${Date.now() - t0} ms`);
    assert.equal(val(pts, `${service}.up`), 0);
    assert.equal(selfMetric(p.ctx, 'errors{reason=timeout}'), 1);
    assert.match(p.logs[0] ?? '', new RegExp(`${service} server timed out .*reason=timeout`));
  } finally {
    await hung.close();
  }
}
