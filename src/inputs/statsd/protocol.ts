/**
 * Messages between the statsd input and its UDP receiving thread. Batches travel as transferred
 * ArrayBuffers (no copy) and come back the same way once parsed, which is also how the receiving
 * thread knows how much data still awaits parsing.
 */

/** What the receiving thread needs: the UDP address and the batching limits. */
export interface ReceiverConfig {
  /** `host:port`. */
  readonly udp: string;
  /** SO_RCVBUF wanted, bytes (0 = the system default). */
  readonly readBuffer: number;
  /** Size of one batch buffer. */
  readonly batchBytes: number;
  /** Most batch bytes shipped and not yet given back; datagrams beyond it are dropped and counted. */
  readonly maxInFlightBytes: number;
  /** A batch that is not full is shipped this long after its first datagram. */
  readonly shipDelayMs: number;
}

export interface ReceiverListening {
  readonly udpPort: number | undefined;
  /** `127.0.0.1:8125`. */
  readonly where: string;
  readonly recvBufferSize: number | undefined;
}

export type ToReceiver =
  /** A parsed batch's buffer, given back for reuse. */
  | { readonly t: 'free'; readonly buf: ArrayBuffer }
  /** Close the socket, ship what is left, answer `closed`. */
  | { readonly t: 'close' };

export type FromReceiver =
  | { readonly t: 'ready'; readonly listening: ReceiverListening }
  | { readonly t: 'error'; readonly message: string; readonly code: string; readonly hint: string }
  /**
   * `len` bytes of newline-joined datagrams in `buf` (absent when only `dropped` has news), and the
   * datagrams dropped for backlog since the previous message.
   */
  | {
      readonly t: 'batch';
      readonly buf: ArrayBuffer | undefined;
      readonly len: number;
      readonly packets: number;
      readonly bytes: number;
      readonly dropped: number;
    }
  /** Everything received was shipped before this message; the socket is closed. */
  | { readonly t: 'closed' };
