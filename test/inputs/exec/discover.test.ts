/** Collector discovery: tcollector numeric dirs (classic and enabled/), PuyPuy check_*, commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvFor, commandCollectors, discoverPuypuyDir, discoverTcollectorDir } from '../../../src/inputs/exec/discover.js';

function tree(files: Record<string, { mode: number; body?: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-discover-'));
  for (const [rel, f] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, f.body ?? '#!/bin/sh\n', { mode: f.mode });
  }
  return dir;
}

test('tcollector classic layout: numeric dirs, executables only, no dotfiles, duplicate names prefixed', (t) => {
  const dir = tree({
    '0/long.py': { mode: 0o755 },
    '15/a.sh': { mode: 0o755 },
    '15/.swp': { mode: 0o755 },
    '15/readme.txt': { mode: 0o644 },
    '60/a.sh': { mode: 0o755 },
    'lib/helper.sh': { mode: 0o755 },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = discoverTcollectorDir(dir);
  assert.deepEqual(
    d.collectors.map((c) => [c.name, c.intervalMs]).sort(),
    [['15/a.sh', 15000], ['60/a.sh', 60000], ['long.py', 0]],
  );
  assert.deepEqual(d.problems, []);
});

test('tcollector enabled/ layout is preferred when present', (t) => {
  const dir = tree({ 'enabled/300/df.sh': { mode: 0o755 }, '15/old.sh': { mode: 0o755 } });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(discoverTcollectorDir(dir).collectors.map((c) => [c.name, c.intervalMs]), [['df.sh', 300000]]);
});

test('a missing directory is a problem, not an exception', () => {
  const d = discoverTcollectorDir('/nonexistent/sonde/collectors');
  assert.equal(d.collectors.length, 0);
  assert.match(d.problems[0] ?? '', /cannot read/);
});

test('PuyPuy: check_* files, run directly, by #! line, or by /bin/sh', (t) => {
  const dir = tree({
    check_exec: { mode: 0o755 },
    check_bash: { mode: 0o644, body: '#!/bin/bash -e\necho x\n' },
    check_plain: { mode: 0o644, body: 'echo x\n' },
    other: { mode: 0o755 },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const byName = Object.fromEntries(discoverPuypuyDir(dir, 5000).collectors.map((c) => [c.name, c.argv]));
  assert.deepEqual(byName, {
    check_bash: ['/bin/bash', '-e', join(dir, 'check_bash')],
    check_exec: [join(dir, 'check_exec')],
    check_plain: ['/bin/sh', join(dir, 'check_plain')],
  });
  assert.deepEqual(argvFor(join(dir, 'check_exec')), [join(dir, 'check_exec')]);
});

test('commands are named after their script argument, duplicates numbered', () => {
  const d = commandCollectors([['python3', '/x/y/stats.py'], ['python3', '/z/stats.py'], ['uptime'], []], 1000);
  assert.deepEqual(d.collectors.map((c) => c.name), ['stats.py', 'stats.py#2', 'uptime']);
  assert.deepEqual(d.problems, ['empty command']);
});
