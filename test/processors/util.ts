/** Shared helpers of the processor tests. */
import type { Point, MetricKind } from '../../src/model/point.js';
import type { Processor, ProcessorSpec } from '../../src/core/plugin.js';
import { testContext, type TestContext } from '../helpers/context.js';

export function make(spec: ProcessorSpec, raw: Record<string, unknown> = {}): { proc: Processor; ctx: TestContext; count: (name: string) => number } {
  const ctx = testContext({ id: `processors.${spec.name}` });
  ctx.cleanup();
  const proc = spec.create(spec.schema.parse(raw), ctx);
  const count = (name: string): number => ctx.selfMetrics.counter(name, { plugin: ctx.id }).value;
  return { proc, ctx, count };
}

export function pt(name: string, value: number, tsSeconds: number, kind: MetricKind = 'counter', tags: Record<string, string> = {}): Point {
  return { name, value, ts: tsSeconds * 1000, kind, tags };
}

/** Feeds points one batch each and returns [value, ts seconds] of what came out. */
export function run(proc: Processor, points: Point[]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of points) for (const o of proc.process([p], p.ts)) out.push([o.value, o.ts / 1000]);
  return out;
}
