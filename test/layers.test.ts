/** The layers of src/ point one way (docs/architecture.md): a module imports only from its own layer or those below. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { ROOT } from './helpers/spawn.js';

const SRC = join(ROOT, 'src');

/** What each layer (a top-level folder or file of src/) may import besides itself and node. */
const ALLOWED: Record<string, readonly string[]> = {
  model: ['errors.ts'],
  'errors.ts': [],
  codecs: ['model', 'errors.ts'],
  core: ['model', 'errors.ts'],
  net: ['model', 'errors.ts', 'codecs', 'core'],
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (f.endsWith('.ts')) out.push(p);
  }
  return out;
}

const layerOf = (file: string): string => relative(SRC, file).split(sep)[0] as string;

test('core/, net/, codecs/ and model/ import nothing above them', () => {
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    const layer = layerOf(file);
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const target = layerOf(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
      if (target !== layer && !allowed.includes(target)) wrong.push(`${relative(SRC, file)} imports ${m[1]} (${target})`);
    }
  }
  assert.deepEqual(wrong, []);
});
