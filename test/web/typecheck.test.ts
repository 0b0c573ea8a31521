/**
 * The dashboard's browser code is type-checked (and linted by tsc's strict checks) against the server's
 * API types, in CI as part of `npm test` and locally by `npm run typecheck`: tsconfig.web.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ROOT } from '../helpers/spawn.js';

test('web/js passes tsc with checkJs, strict and the unused/implicit-return checks', { timeout: 120_000 }, () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.web.json'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, `tsc -p tsconfig.web.json:\n${r.stdout}${r.stderr}`);
});

test('the web check does catch a wrong use of an API type', { timeout: 120_000 }, async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sonde-webtc-'));
  try {
    // a page reading a field the server does not send
    writeFileSync(
      join(dir, 'bad.js'),
      `/** @param {import('${ROOT}/src/alerting/api-types.js').AlertsResponse} r */\nexport function f(r) { return r.rules.map((x) => x.last_changed); }\n`,
    );
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: `${ROOT}/tsconfig.web.json`, include: [join(dir, 'bad.js')] }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /Property 'last_changed' does not exist on type 'AlertRuleInfo'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
