import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { builtinRegistry } from '../../src/plugins.js';
import { referenceBlocks, updateBlocks } from '../../src/config/reference.js';
import { ROOT } from '../helpers/spawn.js';

const readme = readFileSync(`${ROOT}/README.md`, 'utf8');

test('the README starts with the two commands', () => {
  const run = readme.indexOf('npm install && npx sonde run');
  const tst = readme.indexOf('npm install && npm test');
  assert.ok(run > 0 && tst > run, 'install+run, then install+test');
  assert.ok(run < 1500, 'near the top');
});

test('the config reference in the README matches the schemas (run `npm run docs`)', async () => {
  const blocks = referenceBlocks(await builtinRegistry());
  const { text, found, unknown } = updateBlocks(readme, blocks);
  assert.deepEqual(unknown, [], 'README has blocks for names no schema has');
  assert.deepEqual([...blocks.keys()].filter((k) => !found.has(k)), [], 'every plugin and section has a block');
  assert.equal(text, readme, 'README blocks are up to date: run `npm run docs`');
});

test('every plugin has its own README section', async () => {
  const r = await builtinRegistry();
  for (const kind of ['input', 'processor', 'output'] as const) {
    for (const s of r.list(kind)) assert.match(readme, new RegExp(`#### \`${s.name}\`|### \`${s.name}\``), `${kind} ${s.name}`);
  }
});

test('every local link in the README points at a file that exists', () => {
  for (const m of readme.matchAll(/\]\(((?:docs|examples)\/[^)#\s]+)(?:#[^)]*)?\)/g)) {
    assert.ok(existsSync(`${ROOT}/${m[1]}`), `${m[1]} exists`);
  }
});
