/** The layers of src/ point one way (docs/architecture.md): a module imports only from its own layer or those below. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { ROOT } from './helpers/spawn.js';

const SRC = join(ROOT, 'src');

/**
 * The layers, bottom first: each top-level folder or file of src/ is in exactly one. An import may go to
 * the same layer (sideways) or to one below it, never up; docs/architecture.md draws the same map.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['model', 'errors.ts', 'version.ts'],
  ['codecs'],
  ['core'],
  ['net'],
  ['query'],
  ['store'],
  ['alerting', 'graph', 'aggregate'],
  ['config'],
  ['inputs', 'processors', 'outputs', 'http', 'instrument', 'client'],
  ['compat'],
  ['plugins.ts', 'check.ts'],
  ['agent.ts'],
  ['cli'],
];

const RANK = new Map(LAYERS.flatMap((layer, i) => layer.map((name) => [name, i] as const)));

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

/** Every import between two top-level entries of src/: [from, to, "file imports spec"]. */
function crossImports(): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const file of files(SRC)) {
    const from = layerOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const to = layerOf(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
      if (to !== from) out.push([from, to, `${relative(SRC, file)} imports ${m[1]}`]);
    }
  }
  return out;
}

test('every folder and file at the top of src/ has its layer', () => {
  const entries = readdirSync(SRC).filter((f) => f.endsWith('.ts') || statSync(join(SRC, f)).isDirectory());
  assert.deepEqual(entries.filter((e) => !RANK.has(e)), [], 'add it to LAYERS here and to docs/architecture.md');
  assert.deepEqual([...RANK.keys()].filter((e) => !entries.includes(e)), [], 'gone from src/: remove it from LAYERS');
});

test('every import goes down or sideways, never up', () => {
  const wrong = crossImports()
    .filter(([from, to]) => (RANK.get(to) ?? Infinity) > (RANK.get(from) ?? -Infinity))
    .map(([from, to, where]) => `${where} (${from} -> ${to}, up)`);
  assert.deepEqual(wrong, []);
});

test('no circle between the folders of src/', () => {
  const edges = new Map<string, Set<string>>();
  for (const [from, to] of crossImports()) {
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)?.add(to);
  }
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const walk = (node: string, path: string[]): void => {
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') circles.push([...path.slice(path.indexOf(next)), node, next].join(' -> '));
      else if (!state.has(next)) walk(next, [...path, node]);
    }
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) walk(node, []);
  assert.deepEqual(circles, []);
});
