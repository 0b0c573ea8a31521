/**
 * The statsd UDP receiving thread (`worker = true`): it only drains the socket, copying datagrams into
 * batch buffers that it ships to the main thread, where they are parsed and aggregated. Receiving costs
 * Node a few microseconds per datagram, so on its own thread it runs beside the parsing instead of
 * taking turns with it.
 *
 * Memory is bounded: batches shipped and not yet given back count as in flight, and above
 * `maxInFlightBytes` new datagrams are dropped and counted (reported to the main thread with the next
 * batch), never queued without limit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Socket as UdpSocket } from 'node:dgram';
import { closeUdp, openUdp } from '../../net/udp.js';
import { DatagramBatch, MIN_BATCH_BYTES } from './datagrams.js';
import type { FromReceiver, ReceiverConfig, ToReceiver } from './protocol.js';

const POOL = 4;

const port = parentPort;
if (port !== null) {
  const cfg = (workerData as { config: ReceiverConfig }).config;
  const size = Math.max(MIN_BATCH_BYTES, cfg.batchBytes);
  const send = (m: FromReceiver, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const pool: ArrayBuffer[] = [];
  const take = (): Buffer => Buffer.from(pool.pop() ?? new ArrayBuffer(size));
  let batch: DatagramBatch | undefined;
  let inFlight = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let sock: UdpSocket | undefined;

  const ship = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const b = batch;
    if (b !== undefined && b.packets > 0) {
      const ab = b.buf.buffer as ArrayBuffer;
      batch = undefined;
      inFlight += ab.byteLength;
      send({ t: 'batch', buf: ab, len: b.len, packets: b.packets, bytes: b.bytes, dropped }, [ab]);
      dropped = 0;
    } else if (dropped > 0) {
      send({ t: 'batch', buf: undefined, len: 0, packets: 0, bytes: 0, dropped });
      dropped = 0;
    }
  };
  const arm = (): void => {
    if (timer === undefined) timer = setTimeout(ship, cfg.shipDelayMs);
  };

  const onDatagram = (msg: Buffer): void => {
    if (batch !== undefined && !batch.fits(msg.length)) ship();
    if (batch === undefined) {
      if (inFlight + size > cfg.maxInFlightBytes) {
        // The main thread is behind: drop, visibly.
        dropped++;
        arm();
        return;
      }
      batch = new DatagramBatch(take());
    }
    batch.add(msg);
    arm();
  };

  openUdp(cfg.udp, 'udp', onDatagram, { recvBufferSize: cfg.readBuffer }).then(
    (l) => {
      sock = l.server;
      let recvBufferSize: number | undefined;
      try {
        recvBufferSize = l.server.getRecvBufferSize();
      } catch {
        recvBufferSize = undefined;
      }
      send({ t: 'ready', listening: { udpPort: l.port, where: l.where, recvBufferSize } });
    },
    (err: unknown) => {
      const e = err as { message?: string; code?: string; hint?: string };
      send({ t: 'error', message: String(e.message ?? err), code: e.code ?? '', hint: e.hint ?? '' });
      // Nothing else to do here: let the thread end.
      port.close();
    },
  );

  port.on('message', (m: ToReceiver) => {
    if (m.t === 'free') {
      inFlight -= m.buf.byteLength;
      if (m.buf.byteLength === size && pool.length < POOL) pool.push(m.buf);
    } else if (m.t === 'close') {
      const s = sock;
      sock = undefined;
      void (s ? closeUdp(s) : Promise.resolve()).then(() => {
        ship();
        send({ t: 'closed' });
        port.close();
      });
    }
  });
}
