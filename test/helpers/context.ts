import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Point } from '../../src/model/point.js';
import type { Ack, PluginContext } from '../../src/core/plugin.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { Router } from '../../src/http/router.js';
import type { StoreHandle } from '../../src/store/handle.js';

/** A PluginContext for unit tests: records emitted points, counts self-metrics, temp data dir. */
export interface TestContext extends PluginContext {
  readonly emitted: Point[];
  readonly selfMetrics: SelfMetrics;
  readonly router: Router;
  readonly controller: AbortController;
  /** Removes the temp dir and aborts the signal. */
  cleanup(): void;
}

export function testContext(
  opts: {
    id?: string;
    paths?: { proc?: string; sys?: string; root?: string };
    interval?: number;
    logger?: Logger;
    store?: StoreHandle;
    baseDir?: string;
    /** emit returns false (queue full) and emitAcked answers 429 when this returns true */
    full?: () => boolean;
    /** emitAcked answers this (after recording the points when ok); default ok */
    ack?: () => Ack | Promise<Ack>;
    /** ctx.room answers this (backpressure); default always room */
    room?: (n: number) => Promise<void> | undefined;
  } = {},
): TestContext {
  const selfMetrics = new SelfMetrics();
  const id = opts.id ?? 'test';
  const dataDir = mkdtempSync(join(tmpdir(), 'sonde-test-'));
  const controller = new AbortController();
  const router = new Router();
  const emitted: Point[] = [];
  return {
    id,
    logger: opts.logger ?? silentLogger,
    metrics: selfMetrics.forPlugin(id),
    selfMetrics,
    dataDir,
    baseDir: opts.baseDir ?? process.cwd(),
    hostname: 'testhost',
    paths: { proc: opts.paths?.proc ?? '/proc', sys: opts.paths?.sys ?? '/sys', root: opts.paths?.root ?? '/' },
    interval: opts.interval ?? 10_000,
    emit(points: Point[]): boolean {
      if (opts.full?.()) return false;
      for (const p of points) emitted.push(p);
      return true;
    },
    async emitAcked(points: Point[]): Promise<Ack> {
      if (opts.full?.()) return { ok: false, status: 429, reason: 'pipeline queue full', retryAfterS: 1 };
      const a = opts.ack ? await opts.ack() : { ok: true as const };
      if (a.ok) for (const p of points) emitted.push(p);
      return a;
    },
    emitAckedBatch(batch): Promise<Ack> {
      return this.emitAcked(batch.points());
    },
    room: (n: number) => opts.room?.(n),
    signal: controller.signal,
    http: router,
    router,
    store: opts.store,
    emitted,
    controller,
    cleanup() {
      controller.abort();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
