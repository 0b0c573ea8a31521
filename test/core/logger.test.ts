/**
 * The default logger writes stderr asynchronously: a stalled reader does not block the process, and the
 * last lines are not lost when it exits or crashes right after logging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, rateLimited } from '../../src/core/logger.js';
import { TSX, exited, waitFor } from '../helpers/spawn.js';

const WRITER = fileURLToPath(new URL('./fixtures/log-writer.ts', import.meta.url));

function start(n: number, how: string) {
  const child = spawn(process.execPath, ['--import', TSX, WRITER, String(n), how], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  return { child, out };
}

function lines(stderr: string): number[] {
  return [...stderr.matchAll(/ INFO  line i=(\d+) /g)].map((m) => Number(m[1]));
}

for (const how of ['exit', 'throw']) {
  test(`every line logged just before ${how === 'exit' ? 'process.exit' : 'an uncaught exception'} reaches stderr, in order`, async (t) => {
    const { child } = start(20_000, how);
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await exited(child);
    const got = lines(stderr);
    assert.equal(got.length, 20_000);
    assert.ok(got.every((v, i) => v === i), 'in order');
    if (how === 'throw') assert.match(stderr, /boom/);
  });
}

test('a reader that stops reading stderr does not block the process', async (t) => {
  // 20,000 lines of ~150 bytes fill a 64 KiB pipe many times over: a synchronous write would block
  // before the timer could print "alive"
  const { child, out } = start(20_000, 'alive');
  t.after(() => child.kill('SIGKILL'));
  child.stderr.pause();
  await waitFor(() => out.stdout.includes('alive'), 10_000, 'the process to stay responsive while stderr is not read');
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stderr.resume();
  child.stdin.end();
  await exited(child);
  // (a write call in flight at exit may repeat its part: no line may be missing)
  const got = new Set(lines(stderr));
  assert.equal(got.size, 20_000, 'and every line arrives once it is read');
});

test('format and levels; a custom sink is called synchronously', () => {
  const got: string[] = [];
  const log = createLogger({ level: 'warn', format: 'json', write: (l) => got.push(l) });
  log.info('hidden');
  log.child({ plugin: 'p' }).warn('shown', { error: new Error('e'), n: 1 });
  assert.equal(got.length, 1);
  const o = JSON.parse(got[0] as string) as Record<string, unknown>;
  assert.deepEqual([o['level'], o['msg'], o['plugin'], o['error'], o['n']], ['warn', 'shown', 'p', 'e', 1]);
  const text: string[] = [];
  const limited = rateLimited(createLogger({ write: (l) => text.push(l) }).info, 2, 60_000);
  for (let i = 0; i < 5; i++) limited('m');
  assert.equal(text.length, 2);
});
