/** Shared helpers of the exec input tests: config parsing, counters, polling, process liveness. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import execSpec, { type ExecInput } from '../../../src/inputs/exec/index.js';
import { testContext, type TestContext } from '../../helpers/context.js';
import { patience } from '../../helpers/patience.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const FIXTURES = join(HERE, '../../fixtures/exec');
export const EXAMPLES = join(HERE, '../../../examples/collectors');
export const hasPython = spawnSync('python3', ['--version']).status === 0;
export const hasBash = spawnSync('bash', ['--version']).status === 0;

export function makeInput(raw: Record<string, unknown>, opts: Parameters<typeof testContext>[0] = {}): { input: ExecInput; ctx: TestContext } {
  const ctx = testContext({ id: 'inputs.exec', ...opts });
  const config = execSpec.schema.parse(raw);
  return { input: execSpec.create(config, ctx) as ExecInput, ctx };
}

/** `makeInput`, stopped and cleaned up when test `t` ends, and the temp dirs `dirs` removed then. */
export function inputFor(
  t: { after(fn: () => unknown): void },
  raw: Record<string, unknown>,
  opts: Parameters<typeof testContext>[0] = {},
  ...dirs: string[]
): { input: ExecInput; ctx: TestContext } {
  const made = makeInput(raw, opts);
  t.after(async () => {
    await made.input.stop?.();
    made.ctx.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return made;
}

export function count(ctx: TestContext, name: string, tags: Record<string, string>): number {
  return ctx.selfMetrics.counter(name, { ...tags, plugin: ctx.id }).value;
}

/** Polls `cond` until it holds (true) or `timeoutMs`, stretched by `patience`, has passed (false). */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  return holdsWithin(cond, patience(timeoutMs));
}

/** Polls `cond` for exactly `ms` (not stretched): for checks that something does not happen in time. */
export async function holdsWithin(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie nobody reaped yet is dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sonde-exec-'));
}

