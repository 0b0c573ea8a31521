// Regenerates the config reference blocks in README.md from the schemas (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinRegistry } from '../src/plugins.js';
import { referenceBlocks, updateBlocks } from '../src/config/reference.js';

const file = new URL('../README.md', import.meta.url);
const blocks = referenceBlocks(await builtinRegistry());
const { text, found, unknown } = updateBlocks(readFileSync(file, 'utf8'), blocks);
writeFileSync(file, text);
const missing = [...blocks.keys()].filter((k) => !found.has(k));
if (unknown.length) console.error(`README has blocks for unknown names: ${unknown.join(', ')}`);
if (missing.length) console.error(`README lacks blocks (add <!-- config:NAME --><!-- /config:NAME -->): ${missing.join(', ')}`);
console.log(`updated ${found.size} blocks`);
process.exitCode = unknown.length || missing.length ? 1 : 0;
