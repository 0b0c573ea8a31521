import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HostFiles, globToRegExp, guarded, nameFilter, num, readHostFile, tagValue } from '../../../src/inputs/host/common.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/core/logger.js';
import { testContext } from '../../helpers/context.js';
import { FUZZ_RUNS, selfMetric } from './helpers.js';

test('globToRegExp: *, ?, classes, and literal regex characters', () => {
  assert.ok(globToRegExp('loop*').test('loop12'));
  assert.ok(!globToRegExp('loop*').test('xloop1'));
  assert.ok(globToRegExp('sd?').test('sda'));
  assert.ok(!globToRegExp('sd?').test('sda1'));
  assert.ok(globToRegExp('eth0.100').test('eth0.100'));
  assert.ok(!globToRegExp('eth0.100').test('eth0x100'));
  assert.ok(globToRegExp('nvme[0-9]n1').test('nvme3n1'));
  assert.ok(!globToRegExp('sd[!a]').test('sda'));
  assert.ok(globToRegExp('sd[!a]').test('sdb'));
  assert.ok(globToRegExp('a[b').test('a[b'));
  assert.ok(globToRegExp('/mnt/(x)+').test('/mnt/(x)+'));
});

test('nameFilter: empty include means all; exclude wins', () => {
  const f = nameFilter([], ['lo']);
  assert.ok(f('eth0') && !f('lo'));
  const g = nameFilter(['eth*', 'lo'], ['eth1']);
  assert.deepEqual(['eth0', 'eth1', 'lo', 'wlan0'].filter(g), ['eth0', 'lo']);
});

test('num: finite decimal numbers only', () => {
  assert.equal(num('42'), 42);
  assert.equal(num('-1'), -1);
  assert.equal(num(''), undefined);
  assert.equal(num(undefined), undefined);
  assert.equal(num('abc'), undefined);
  assert.equal(num('1'.repeat(400)), undefined);
});

test('tagValue sanitizes and never returns empty', () => {
  assert.equal(tagValue('veth@if3'), 'veth_if3');
  assert.equal(tagValue('/mnt/my disk'), '/mnt/my_disk');
  assert.equal(tagValue('@@'), '_');
});

test('HostFiles: a missing file counts every time but is logged once', async () => {
  const lines: string[] = [];
  const ctx = testContext({ logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
  const files = new HostFiles(ctx);
  assert.equal(await files.text('/nonexistent/sonde/x'), undefined);
  assert.equal(await files.text('/nonexistent/sonde/x'), undefined);
  assert.equal(selfMetric(ctx, 'gather_errors'), 2);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /cannot read host file/);
  files.malformed('/p', ['a', 'b']);
  files.malformed('/p', ['c']);
  assert.equal(selfMetric(ctx, 'parse_errors'), 3);
  assert.equal(lines.length, 2);
  ctx.cleanup();
});

test('guarded: a bug in a gather is counted and logged, never thrown', async () => {
  const lines: string[] = [];
  const ctx = testContext({ logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
  const g = guarded(ctx, async () => {
    throw new Error('boom');
  });
  assert.deepEqual(await g(1), []);
  assert.equal(selfMetric(ctx, 'gather_errors'), 1);
  assert.equal(ctx.selfMetrics.byPlugin()[0]?.lastError?.message, 'boom');
  assert.equal(lines.length, 1);
  ctx.cleanup();
});

test('fuzz: globToRegExp never throws, compiles any pattern and matches it literally when it has no wildcards', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: fc.constantFrom('[', ']', '-', '!', '*', '?', '\\', '^', 'a', 'z', '.'), maxLength: 12 })), (s) => {
      const re = globToRegExp(s);
      return /[*?[]/.test(s) || re.test(s);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

test('an impossible character class is matched literally instead of throwing', () => {
  assert.ok(globToRegExp('sd[z-a]').test('sd[z-a]'));
  assert.ok(!globToRegExp('sd[z-a]').test('sdb'));
});

test('readHostFile: whole files of any size, one after another through the shared buffer', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-hostfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sizes = [0, 1, 65535, 65536, 65537, 300_000, 10];
  for (const size of sizes) {
    // multi-byte characters straddling the buffer's 64 KB boundaries must decode intact
    const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'x' : '');
    const path = join(dir, `f${size}`);
    writeFileSync(path, text);
    assert.equal(readHostFile(path), text, `size ${size}`);
  }
  assert.throws(() => readHostFile(join(dir, 'missing')), /ENOENT/);
});

test('HostFiles.text: a missing file is undefined and counted, never thrown', async () => {
  const ctx = testContext();
  const files = new HostFiles(ctx);
  assert.equal(await files.text('/nonexistent/sonde/file'), undefined);
  assert.equal(selfMetric(ctx, 'gather_errors'), 1);
});
