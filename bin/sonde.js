#!/bin/sh
':' //; exec node --no-concurrent-recompilation "$0" "$@"
// Entry point of the `sonde` command. The compiled CLI lives in dist/ (built by `npm install` via the
// `prepare` script, or `npm run build`).
//
// The two lines above are read by sh and skipped by node (a hashbang, then a string and a comment): run
// as a command, the file starts node with V8 compiling optimized code on the main thread instead of
// background threads. Each background compile leaves freed zone memory in that thread's malloc arena,
// and an agent that runs for days keeps optimizing functions that became hot late: with background
// compiles an idle agent's RSS grew ~0.35 MB a minute (63.4 MB after 10 minutes), without them it stayed
// near 60.5 MB (docs/benchmarks.md). `node bin/sonde.js` runs it without the flag.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('sonde: dist/ is missing; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
