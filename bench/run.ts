// `npm run bench [-- name ...]`: runs every bench/*.bench.ts (or those whose name contains an argument)
// one after another in its own process, so one benchmark's heap and threads don't skew the next.
// Each prints a markdown table; the results and the machine are recorded in docs/benchmarks.md by hand.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => args.length === 0 || args.some((a) => f.includes(a)))
  .sort();

console.log(`# sonde benchmarks — ${new Date().toISOString()}`);
console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`);
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace('.bench.ts', '')}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `${dir}${f}`, ...passthrough], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`\n(${f} exited with ${r.status ?? r.signal})`);
  }
  console.log(`\n(${f}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
process.exit(failed ? 1 : 0);
