/**
 * A parse thread of `ParsePool`: decodes request bodies (in a buffer shared with the agent's thread,
 * which it reuses once this thread answered) with the codecs it knows and sends
 * the points back packed in columns (core/point-columns.ts). Each thread keeps its own codec caches
 * (the Influx series sections it has seen) and its own series numbering, so the agent's thread keeps
 * one `PointUnpacker` per parse thread.
 */
import { parentPort } from 'node:worker_threads';
import { InfluxSeriesCache, parseInfluxLines } from '../codecs/influx.js';
import { PointPacker, packedTransfer } from './point-columns.js';
import type { ParseReply, ParseRequest } from './parse-pool.js';

const port = parentPort;
if (!port) throw new Error('the parse thread must run in a worker thread');

const packer = new PointPacker();
/** Series sections this thread has parsed before (bounded; the same size as a receiver's own). */
const influxSeries = new InfluxSeriesCache(10_000);

port.on('message', (m: ParseRequest) => {
  let reply: ParseReply;
  try {
    const bytes = new Uint8Array(m.bytes, 0, m.length);
    // the one decoder that runs here so far; a new one is a case of `m.decoder`
    const r = parseInfluxLines(bytes, { ...m.influx, seriesCache: influxSeries });
    const packed = packer.pack(r.items);
    reply = { type: 'parsed', id: m.id, packed, errors: r.errors, droppedStrings: r.droppedStrings };
    port.postMessage(reply, packedTransfer(packed));
  } catch (err) {
    reply = { type: 'failed', id: m.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
