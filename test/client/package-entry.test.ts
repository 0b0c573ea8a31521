import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/spawn.js';

// `npm install` builds dist/ (the prepare script); these check the package entry points users import.
const built = existsSync(`${ROOT}/dist/cjs/client/index.js`) && existsSync(`${ROOT}/dist/client/index.js`);
const skip = built ? false : process.env['CI'] === 'true' ? false : 'dist/ not built: run `npm run build`';

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

test('require("sonde/client") works from CommonJS', { skip }, () => {
  const r = node(['-e', "const c = require('sonde/client'); const m = c.createClient({ sink: c.memorySink() }); m.counter('x').inc(2); console.log(typeof c.Connection, typeof m.flush)"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function function');
});

test('import "sonde/client" works from ESM', { skip }, () => {
  const r = node(['--input-type=module', '-e', "import { createClient, memorySink, Connection } from 'sonde/client'; const m = createClient({ sink: memorySink() }); m.gauge('g').set(1); console.log(typeof Connection)"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
});
