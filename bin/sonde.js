#!/usr/bin/env node
// Entry point of the `sonde` command. The compiled CLI lives in dist/ (built by `npm install` via the
// `prepare` script, or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('sonde: dist/ is missing; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
