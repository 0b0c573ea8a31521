/**
 * Splits a child's output into lines with hard bounds: a line of `maxLineBytes` bytes or more is
 * discarded up to its newline (and counted), and at most `maxPending` complete lines wait to be parsed
 * (lines beyond that are dropped and counted). The owner pauses the stream well before the cap, so the
 * kernel pipe pushes back on the writer and drops only happen when a single read overshoots.
 */
export class LineBuffer {
  private partial: Buffer[] = [];
  private partialLen = 0;
  /** True while skipping the rest of an overlong line. */
  private discarding = false;
  private queue: string[] = [];
  private head = 0;
  /** Complete, non-blank lines seen (queued, dropped or overlong). */
  received = 0;
  /** Lines discarded for length. */
  overlong = 0;
  /** Lines dropped because the queue was full. */
  dropped = 0;
  /** Largest queue length ever reached, to show that the bound holds. */
  maxQueued = 0;

  constructor(
    readonly maxLineBytes: number,
    readonly maxPending: number,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        const rest = chunk.subarray(start);
        if (rest.length > 0 && !this.discarding) {
          if (this.partialLen + rest.length >= this.maxLineBytes) {
            // Over the limit before its newline arrived: forget it now so memory stays bounded.
            this.discarding = true;
            this.partial = [];
            this.partialLen = 0;
            this.received++;
            this.overlong++;
          } else {
            this.partial.push(Buffer.from(rest));
            this.partialLen += rest.length;
          }
        }
        return;
      }
      const seg = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (this.partialLen + seg.length >= this.maxLineBytes) {
        this.partial = [];
        this.partialLen = 0;
        this.received++;
        this.overlong++;
        continue;
      }
      const line = this.partialLen > 0 ? Buffer.concat([...this.partial, seg]).toString('utf8') : seg.toString('utf8');
      this.partial = [];
      this.partialLen = 0;
      this.enqueue(line);
    }
  }

  /** The stream ended: a last line without a newline (`echo -n`) still counts. */
  end(): void {
    if (!this.discarding && this.partialLen > 0) this.enqueue(Buffer.concat(this.partial).toString('utf8'));
    this.partial = [];
    this.partialLen = 0;
    this.discarding = false;
  }

  /** Removes and returns up to `max` queued lines. */
  take(max: number): string[] {
    const end = Math.min(this.queue.length, this.head + max);
    const out = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private enqueue(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    this.received++;
    if (this.pending >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    if (this.pending > this.maxQueued) this.maxQueued = this.pending;
  }
}
