/**
 * Writes flushes through any sonde Output (InfluxDB, OpenTSDB, ...), so an application can report
 * straight to a backend without an agent. The output is started on the first send and stopped on close.
 */
import type { Output, WriteResult } from '../../core/plugin.js';
import { toPoints } from '../points.js';
import { errorText } from '../stats.js';
import type { Sink, Snapshot } from '../types.js';

export function outputSink(output: Output, name = 'output'): Sink {
  let started: Promise<WriteResult> | undefined;
  const start = (): Promise<WriteResult> =>
    (started ??= (async (): Promise<WriteResult> => {
      try {
        await output.start?.();
        return { ok: true };
      } catch (e) {
        started = undefined; // try again next flush
        return { ok: false, retryable: true, error: 'start failed: ' + errorText(e) };
      }
    })());
  return {
    name,
    async send(s: Snapshot): Promise<WriteResult> {
      const st = await start();
      if (!st.ok) return st;
      try {
        return await output.write(toPoints(s));
      } catch (e) {
        return { ok: false, retryable: true, error: errorText(e) };
      }
    },
    async close(): Promise<void> {
      if (started === undefined) return;
      try {
        await output.stop?.();
      } catch {
        // closing is best effort; the write path already reported failures
      }
    },
  };
}
