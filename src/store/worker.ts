/**
 * The store's worker thread: owns a `Tsdb` and answers `openStore`'s messages, so writes, chunk cuts,
 * retention and queries never run on the agent's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LogFields, Logger, LogLevel } from '../core/logger.js';
import type { Tags } from '../model/point.js';
import { StoreWriteError, type QueryRequest, type RawReadRequest, type RawReadResult, type SeriesFilter } from './handle.js';
import type { StoreOptions } from './options.js';
import type { Reply, Request, WriteArgs } from './protocol.js';
import { Tsdb } from './tsdb.js';

const port = parentPort;
if (!port) throw new Error('store worker must run in a worker thread');

const post = (m: Reply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

function portLogger(level: LogLevel, bindings: LogFields = {}): Logger {
  const send =
    (lvl: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: LogFields): void => {
      const all: Record<string, unknown> = { ...bindings, ...fields };
      for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = v.message;
      post({ type: 'log', level: lvl, msg, fields: all });
    };
  return {
    level,
    debug: send('debug'),
    info: send('info'),
    warn: send('warn'),
    error: send('error'),
    child: (b) => portLogger(level, { ...bindings, ...b }),
  };
}

const data = workerData as { dir: string; options: StoreOptions };
let db: Tsdb;
try {
  db = Tsdb.open(data.dir, { ...data.options, logger: portLogger('info') });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'fatal', error: (err as Error).message });
  process.exit(1);
}

/** Worker-side handle numbers to store series ids, and the series each handle names. */
const handles: number[] = [];
const defs: WriteArgs['defs'][number][] = [];

function handle(req: Request): unknown {
  const a = req.args;
  switch (req.op) {
    case 'write': {
      const w = a[0] as WriteArgs;
      const fresh = new Set<number>();
      for (const d of w.defs) {
        fresh.add(d.h);
        defs[d.h] = d;
        handles[d.h] = db.resolve(d.name, d.tags as Tags, d.kind);
      }
      const n = w.h.length;
      const sids = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const h = w.h[i] as number;
        let sid = handles[h] ?? 0;
        // refused (max_series) or forgotten since (retention): resolve again, there may be room now
        if (!db.has(sid) && !fresh.has(h)) {
          const d = defs[h];
          if (d) sid = handles[h] = db.resolve(d.name, d.tags as Tags, d.kind);
        }
        sids[i] = sid;
      }
      db.writeColumns(sids, w.ts, w.v, n);
      return undefined;
    }
    case 'query':
      return db.querySync(a[0] as QueryRequest);
    case 'readRaw':
      return db.readRawSync(a[0] as RawReadRequest);
    case 'series':
      return db.seriesSync(a[0] as SeriesFilter | undefined);
    case 'names':
      return db.namesSync(a[0] as string | undefined, a[1] as number | undefined);
    case 'tagKeys':
      return db.tagKeysSync(a[0] as string | undefined);
    case 'tagValues':
      return db.tagValuesSync(a[0] as string, a[1] as string | undefined, a[2] as number | undefined);
    case 'stats':
      return db.statsSync();
    case 'flush':
      db.checkpoint();
      return undefined;
    case 'retain':
      return db.retain();
    case 'close':
      db.closeSync();
      return undefined;
    default:
      throw new Error(`unknown store operation ${String(req.op)}`);
  }
}

port.on('message', (req: Request) => {
  try {
    const result = handle(req);
    // a raw read's columns are handed over, not copied (each read has arrays of its own)
    const r = result as RawReadResult;
    post({ type: 'reply', id: req.id, ok: true, result }, req.op === 'readRaw' ? [r.offsets.buffer as ArrayBuffer, r.ts.buffer as ArrayBuffer, r.values.buffer as ArrayBuffer] : []);
    if (req.op === 'close') port.close();
  } catch (err) {
    const e = err as Error;
    post({ type: 'reply', id: req.id, ok: false, error: e.message, ...(e instanceof StoreWriteError ? { code: e.code } : {}) });
  }
});
