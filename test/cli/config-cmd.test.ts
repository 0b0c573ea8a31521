import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sondeSync } from '../helpers/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'sonde-cfg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('config init writes a file that config check accepts', () => {
  const f = join(dir, 'sonde.toml');
  const r = sondeSync(['config', 'init', f]);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(f, 'utf8');
  assert.match(text, /\[agent\]/);
  assert.match(text, /\[\[inputs\.cpu\]\]/);
  const c = sondeSync(['config', 'check', f]);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /ok \(\d+ inputs/);
  // refuses to overwrite without --force
  assert.equal(sondeSync(['config', 'init', f]).status, 2);
});

test('config check: unknown key exits 1 with file:line, the key and a hint', () => {
  const f = join(dir, 'bad.toml');
  writeFileSync(f, '[agent]\ninterval = "10s"\nlog_levl = "debug"\n');
  const r = sondeSync(['config', 'check', f]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.toml:3: agent\.log_levl: unknown key/);
  assert.match(r.stderr, /did you mean `log_level`/);
});

test('bad TOML and wrong types exit 1 with the line', () => {
  const f = join(dir, 'bad2.toml');
  writeFileSync(f, '[agent]\ninterval = \n');
  let r = sondeSync(['config', 'check', f]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad2\.toml:2: invalid TOML/);
  writeFileSync(f, '[http]\nenabled = "yes"\n');
  r = sondeSync(['config', 'check', f]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad2\.toml:2: http\.enabled: expected boolean, got string/);
});

test('run with a bad config exits 1 before starting anything', () => {
  const f = join(dir, 'bad3.toml');
  const data = join(dir, 'data-never');
  writeFileSync(f, `[agent]\ndata_dir = "${data}"\n[[inputs.nope]]\n`);
  const r = sondeSync(['run', '-c', f]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad3\.toml:3: inputs\.nope: unknown input plugin "nope"/);
  assert.throws(() => readFileSync(join(data, 'agent.pid')), 'no data dir was created');
});
