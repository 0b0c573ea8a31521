/**
 * Worker-thread host of the statsd engine: owns the sockets, parses and aggregates, and answers the
 * main thread's flush requests with points and counts. Messages are plain data (structured clone).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StatsdServer, type StatsdServerConfig } from './server.js';
import type { ToWorker, FromWorker } from './protocol.js';

const port = parentPort;
if (port !== null) {
  const server = new StatsdServer((workerData as { config: StatsdServerConfig }).config);
  const send = (m: FromWorker): void => port.postMessage(m);
  server.start().then(
    (listening) => send({ t: 'ready', listening }),
    (err: unknown) => {
      const e = err as { message?: string; code?: string; hint?: string };
      send({ t: 'error', message: String(e.message ?? err), code: e.code ?? '', hint: e.hint ?? '' });
    },
  );
  port.on('message', (m: ToWorker) => {
    if (m.t === 'flush') {
      send({ t: 'flushed', id: m.id, flush: server.flush(m.ts, m.intervalMs) });
    } else if (m.t === 'close') {
      void server.close().then(() => {
        send({ t: 'flushed', id: m.id, flush: server.flush(m.ts, m.intervalMs) });
        port.close();
      });
    }
  });
}
