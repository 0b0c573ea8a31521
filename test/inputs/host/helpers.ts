/**
 * Shared pieces of the host collector tests: fixture locations, building a collector from its spec
 * with a parsed config, and looking points up by name and tags.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import fc from 'fast-check';
import type { InputSpec, Input, PluginSchema } from '../../../src/core/plugin.js';
import type { Point } from '../../../src/model/point.js';
import { testContext, type TestContext } from '../../helpers/context.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/host/', import.meta.url));
export const fixtureProc = (scenario: string): string => join(FIXTURES, scenario, 'proc');
export const FUZZ_RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
/** Real-host tests need a Linux /proc; elsewhere they skip. */
export const HAS_PROC = existsSync('/proc/stat');

const contexts: TestContext[] = [];
// Each context owns a temp data dir; remove them all when the test process ends.
process.on('exit', () => {
  for (const c of contexts) c.cleanup();
});

export function build<S extends PluginSchema>(
  spec: InputSpec<S>,
  config: Record<string, unknown> = {},
  paths: { proc?: string; sys?: string; root?: string } = {},
): { input: Input; ctx: TestContext; gather(now: number): Promise<Point[]> } {
  const ctx = testContext({ id: 'inputs.' + spec.name, paths });
  contexts.push(ctx);
  const input = spec.create(spec.schema.parse(config), ctx);
  return {
    input,
    ctx,
    async gather(now: number) {
      const g = input.gather;
      if (!g) throw new Error('no gather');
      return await g.call(input, now);
    },
  };
}

/** The one point with this name whose tags include `tags`; fails when there is not exactly one. */
export function only(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point {
  const found = select(points, name, tags);
  if (found.length !== 1) throw new Error(`expected one ${name} ${JSON.stringify(tags)}, found ${found.length}`);
  return found[0] as Point;
}

export function select(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point[] {
  return points.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

export function value(points: readonly Point[], name: string, tags: Record<string, string> = {}): number {
  return only(points, name, tags).value;
}

/** Self-metric value of the collector under test, e.g. `gather_errors`. */
export function selfMetric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((s) => s.id === ctx.id)?.metrics[name] ?? 0;
}

/** Every point is well formed: dotted name, finite value, the gather's timestamp, string tags. */
export function assertSane(points: readonly Point[], ts: number): string | undefined {
  for (const p of points) {
    if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(p.name)) return `bad name ${p.name}`;
    if (!Number.isFinite(p.value)) return `non-finite ${p.name}=${p.value}`;
    if (p.ts !== ts) return `bad ts on ${p.name}`;
    for (const [k, v] of Object.entries(p.tags)) if (typeof v !== 'string' || v === '' || k === '') return `bad tag on ${p.name}`;
  }
  return undefined;
}

/** Text shaped like /proc files: lines of numbers, words, colons, parens and blanks, or pure noise. */
export function procLikeText(): fc.Arbitrary<string> {
  const token = fc.oneof(
    fc.nat().map(String),
    fc.integer({ min: -5, max: 5 }).map(String),
    fc.constantFrom('cpu', 'cpu0', 'cpu1', 'intr', 'ctxt', 'btime', 'kB', 'MemTotal:', 'eth0:', 'lo:', '(', ')', ':', '|', '\\040', 'NaN', '1e400', '0x1f', '-', '', '/', '/mnt/a\\040b', '0A', '01'),
    fc.string({ maxLength: 6 }),
  );
  const line = fc.array(token, { maxLength: 20 }).chain((ts) =>
    fc.constantFrom(' ', '  ', '\t').map((sep) => ts.join(sep)),
  );
  return fc.oneof(fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n')), fc.string({ maxLength: 200 }));
}
