import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInstrument } from '../../src/instrument/cli.js';

const FIX = resolve('test/fixtures/instrument');

test('usage and config errors return 2 without running the command', async () => {
  let err = '';
  assert.equal(await runInstrument([], { stderr: (s) => (err += s) }), 2);
  assert.match(err, /usage: sonde instrument/);
  const dir = mkdtempSync(join(tmpdir(), 'sonde-cli-'));
  writeFileSync(join(dir, 'bad.conf'), '[x]\nmodule = pkg\nmethod = f\n');
  err = '';
  assert.equal(await runInstrument([join(dir, 'bad.conf'), '--', 'node', '-e', 'process.exit(0)'], { stderr: (s) => (err += s) }), 2);
  assert.match(err, /bad\.conf:1: x\.metric: missing metric/);
  rmSync(dir, { recursive: true, force: true });
});

test("runs node with the instrumentation preloaded and returns the app's exit status", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-cli-'));
  const conf = join(dir, 'ok.conf');
  writeFileSync(conf, `[c]\nmodule = ${join(FIX, 'cjs/handler.cjs')}\nmethod = compute\nmetric = increment\n`);
  assert.equal(await runInstrument([conf, '--', 'node', join(FIX, 'exit-code.cjs'), '3']), 3);
  assert.equal(await runInstrument([conf, 'node', join(FIX, 'exit-code.cjs'), '0']), 0);
  rmSync(dir, { recursive: true, force: true });
});
