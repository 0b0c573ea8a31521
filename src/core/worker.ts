/**
 * Starts a worker thread from a module beside the caller, in compiled builds and under tsx alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * `js` is the compiled worker's URL (`new URL('./worker.js', import.meta.url)`). Compiled builds ship
 * that file. Under tsx (tests, development) only the .ts source exists, and Node 20 does not apply the
 * parent's `--import tsx` loader hooks to a worker's entry module, so the worker then starts from a
 * tiny bootstrap that registers tsx before importing the source.
 */
export function startWorker(js: URL, workerData: unknown): Worker {
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL(js.href.replace(/\.js$/, '.ts'));
  let api = 'tsx/esm/api';
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    // resolved from the working directory instead
  }
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
