/**
 * The service collectors' configs: the sample configs in examples/services validate and build, bad
 * values fail at start with the key's file:line, and the client libraries stay unloaded until a
 * collector that needs them polls for the first time (the idle agent does not grow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { builtinRegistry, registryForConfig } from '../../src/plugins.js';
import { testContext } from '../helpers/context.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/services/', import.meta.url));
const require = createRequire(import.meta.url);
const loaded = (pkg: string): boolean => Object.keys(require.cache).some((k) => k.includes(`/node_modules/${pkg}/`));

test('the SQL, procstat and check samples in examples/services validate and their plugins build', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => /^(postgresql|mysql|procstat|check-pool)\.toml$/.test(f));
  assert.equal(files.length, 4);
  const registry = await builtinRegistry();
  for (const f of files) {
    const cfg = loadConfig({ text: readFileSync(join(EXAMPLES, f), 'utf8'), file: join(EXAMPLES, f), registry });
    assert.ok(cfg.inputs.length > 0, f);
    for (const i of cfg.inputs) {
      const spec = registry.get('input', i.name);
      assert.ok(spec, `${f}: ${i.name}`);
      const ctx = testContext({ id: i.id });
      try {
        const { interval: _i, tags: _t, alias: _a, name_prefix: _n, ...own } = i.config as Record<string, unknown>;
        spec.create(spec.schema.parse(own), ctx);
      } finally {
        ctx.cleanup();
      }
    }
  }
});

test('bad values fail at start with file:line and a hint', async () => {
  const text = '[[inputs.postgresql]]\nservers = ["http://db:5432"]\n\n[[inputs.mysql]]\nquery_timeout = "soon"\n';
  const registry = await registryForConfig(text);
  assert.throws(
    () => loadConfig({ text, file: 'svc.toml', registry }),
    (e: unknown) => e instanceof ConfigError && /svc\.toml:2/.test(e.message) && /postgres:\/\/sonde@127\.0\.0\.1:5432/.test(e.message) && /svc\.toml:5/.test(e.message),
  );
});

test('pg and mysql2 are imported on the first poll, not when the config is loaded', async () => {
  assert.equal(loaded('pg'), false);
  assert.equal(loaded('mysql2'), false);
  const text = '[[inputs.postgresql]]\nservers = ["postgres://u:p@127.0.0.1:1/x"]\n[[inputs.mysql]]\nservers = ["mysql://u:p@127.0.0.1:1/"]\n';
  const registry = await registryForConfig(text);
  const cfg = loadConfig({ text, file: 'x.toml', registry });
  const ctx = testContext();
  try {
    const inputs = cfg.inputs.map((i) => {
      const spec = registry.get('input', i.name);
      assert.ok(spec);
      const { interval: _i, tags: _t, alias: _a, name_prefix: _n, ...own } = i.config as Record<string, unknown>;
      return spec.create(spec.schema.parse(own), ctx);
    });
    assert.equal(loaded('pg'), false, 'pg not loaded by building the plugin');
    assert.equal(loaded('mysql2'), false);
    // port 1: nothing listens, the polls fail fast
    for (const i of inputs) await i.gather?.(Date.now());
    assert.equal(loaded('pg'), true);
    assert.equal(loaded('mysql2'), true);
    for (const i of inputs) await i.stop?.();
  } finally {
    ctx.cleanup();
  }
});
