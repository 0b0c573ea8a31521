/**
 * The store as the agent opens it, three ways: in a worker thread (`openStore`), on the calling thread
 * (`openStoreInProcess`), or on the calling thread until it grows, then moved to a worker thread
 * (`openStoreAuto`, the default). All return a `StoreHandle` (handle.ts).
 */
import type { StoreHandle } from './handle.js';
import type { StoreOptions } from './options.js';
import { WorkerStore } from './worker-store.js';

export type { StoreOptions } from './options.js';
export { DEFAULT_OPTIONS } from './options.js';
export type * from './handle.js';
export { StoreWriteError, isStoreWriteError, STORE_CANNOT_WRITE } from './handle.js';
export { WorkerStore } from './worker-store.js';

/** Opens the store in `dir` in a worker thread. */
export function openStore(dir: string, options: StoreOptions = {}): Promise<WorkerStore> {
  return WorkerStore.open(dir, options);
}

/**
 * The same store on the calling thread (`[store] worker = false`): no worker thread (~7.5 MB less
 * memory); chunk writes, checkpoints and queries run on the caller's event loop in short slices.
 */
export async function openStoreInProcess(dir: string, options: StoreOptions = {}): Promise<StoreHandle> {
  const { Tsdb } = await import('./tsdb.js');
  return Tsdb.open(dir, options);
}

/**
 * The store on the calling thread while it is small, moved to a worker thread once it holds many series
 * or takes many points per second (`[store] worker = "auto"`, the default; see `AutoStore`).
 */
export async function openStoreAuto(dir: string, options: StoreOptions = {}): Promise<StoreHandle> {
  const { AutoStore } = await import('./auto.js');
  return AutoStore.open(dir, options);
}
