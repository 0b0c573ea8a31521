/**
 * Running one service-collector input in a test the way the agent does: its config parsed by its
 * schema, a test context whose log lines are kept, gathers at given times, and its self-metrics read
 * back by name.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { InputSpec, PluginSchema } from '../../src/core/plugin.js';
import { createLogger } from '../../src/core/logger.js';
import type { Point } from '../../src/model/point.js';
import rate from '../../src/processors/rate.js';
import { testContext, type TestContext } from './context.js';

export interface InputRun {
  readonly ctx: TestContext;
  readonly logs: string[];
  gather(now?: number): Promise<Point[]>;
  /** A self-metric of the plugin, keyed as `sonde status` shows it (`errors{reason=timeout}`). */
  self(key: string): number | undefined;
  cleanup(): void;
}

export function runInput(spec: InputSpec<PluginSchema>, config: Record<string, unknown>, opts: { interval?: number } = {}): InputRun {
  const logs: string[] = [];
  const ctx = testContext({ id: `inputs.${spec.name}`, interval: opts.interval ?? 10_000, logger: createLogger({ level: 'info', write: (l) => logs.push(l) }) });
  const input = spec.create(spec.schema.parse(config), ctx);
  return {
    ctx,
    logs,
    async gather(now = Date.now()) {
      return (await input.gather?.(now)) ?? [];
    },
    self(key) {
      return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[key];
    },
    cleanup() {
      ctx.cleanup();
    },
  };
}

/** The first point named `name` whose tags include `tags`. */
export function pick(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point | undefined {
  return points.find((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

/** A rate processor as configured by default (counters only, resets skipped), with its self-metrics. */
export function rateProcessor(): { process(points: Point[], now: number): Point[]; resets(): number; cleanup(): void } {
  const ctx = testContext({ id: 'processors.rate' });
  const p = rate.create(rate.schema.parse({}), ctx);
  return {
    process: (points, now) => p.process(points, now),
    resets: () => ctx.selfMetrics.byPlugin()[0]?.metrics['counter_resets'] ?? 0,
    cleanup: () => ctx.cleanup(),
  };
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers (a hung service). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Log lines that contain every one of `parts`. */
export function linesWith(logs: readonly string[], ...parts: string[]): string[] {
  return logs.filter((l) => parts.every((p) => l.includes(p)));
}

/**
 * Gathers once from a server that accepts and never answers (`config` gets its port): the input's only
 * point is `up` = 0, one timeout is counted, and the first WARN line holding all of `log` matches `message`.
 */
export async function assertTimesOut(
  spec: InputSpec<PluginSchema>,
  config: (port: number) => Record<string, unknown>,
  up: string,
  log: readonly string[],
  message: RegExp,
): Promise<void> {
  const hung = await silentServer();
  const run = runInput(spec, config(hung.port));
  try {
    assert.deepEqual((await run.gather()).map((p) => [p.name, p.value]), [[up, 0]]);
    assert.equal(run.self('errors{reason=timeout}'), 1);
    assert.match(linesWith(run.logs, 'WARN', ...log)[0] ?? '', message);
  } finally {
    run.cleanup();
    await hung.close();
  }
}
