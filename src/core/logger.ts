/**
 * A small structured logger: one line per event on stderr, `text` (human) or `json`.
 * Plugins get a child logger bound to their id. `rateLimited` keeps a flood of bad input from turning
 * into a flood of log lines.
 *
 * Lines go to stderr asynchronously (`stderrSink`): a log call only queues its line, and the queue is
 * written in batches off the event loop, so a slow or stalled reader of stderr (a full pipe, a busy
 * journald) never blocks the agent. Whatever is still queued when the process exits (normally, by
 * `process.exit`, or from an uncaught exception) is written synchronously by an `exit` handler; past
 * `MAX_QUEUED_BYTES` lines are dropped and their count written with the next batch.
 */
import { write as fsWrite, writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  write?: (line: string) => void;
  bindings?: LogFields;
}

function fmtValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const format = opts.format ?? 'text';
  const write = opts.write ?? stderrLine;
  const bindings = opts.bindings ?? {};
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (ORDER[lvl] < min) return;
    try {
      const all = fields ? { ...bindings, ...fields } : bindings;
      if (format === 'json') {
        const obj: LogFields = { time: new Date().toISOString(), level: lvl, msg };
        for (const [k, v] of Object.entries(all)) obj[k] = v instanceof Error ? v.message : v;
        write(JSON.stringify(obj));
      } else {
        let line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}`;
        for (const [k, v] of Object.entries(all)) line += ` ${k}=${fmtValue(v)}`;
        write(line);
      }
    } catch {
      // logging must never throw into the caller
    }
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger({ level, format, write, bindings: { ...bindings, ...b } }),
  };
}

/** Bytes of log lines queued for stderr at most; beyond, lines are dropped (and counted). */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** The asynchronous, batched writer of log lines to stderr (fd 2). */
class StderrSink {
  private queue: string[] = [];
  private queued = 0;
  private dropped = 0;
  private writing = false;
  private scheduled = false;
  /** The batch being written and how far it got. */
  private inflight: { buf: Buffer; off: number; busy: boolean } | null = null;
  private hooked = false;

  line(line: string): void {
    const n = line.length + 1;
    if (this.queued + n > MAX_QUEUED_BYTES) {
      this.dropped++;
      return;
    }
    this.queue.push(line + '\n');
    this.queued += n;
    if (!this.hooked) {
      this.hooked = true;
      process.once('exit', () => this.flushSync());
    }
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => this.flush()).unref();
    }
  }

  private take(): string {
    let text = this.queue.join('');
    if (this.dropped > 0) {
      text += `${new Date().toISOString()} WARN  log lines dropped: stderr did not keep up dropped=${this.dropped}\n`;
      this.dropped = 0;
    }
    this.queue = [];
    this.queued = 0;
    return text;
  }

  /** Writes the queue in one batch off the event loop; what arrives meanwhile forms the next batch. */
  private flush(): void {
    this.scheduled = false;
    if (this.inflight || (this.queue.length === 0 && this.dropped === 0)) return;
    const w = { buf: Buffer.from(this.take(), 'utf8'), off: 0, busy: false };
    this.inflight = w;
    this.writing = true;
    const step = (): void => {
      if (this.inflight !== w) return; // written by flushSync meanwhile
      w.busy = true;
      // at most 64 KiB (a pipe's buffer) a call: an exit during a call can repeat no more than that
      fsWrite(2, w.buf, w.off, Math.min(65_536, w.buf.length - w.off), null, (err, n) => {
        w.busy = false;
        if (this.inflight !== w) return;
        if (err) {
          // a non-blocking stderr that is full: try again shortly; any other error: give the lines up
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
            setTimeout(step, 5).unref();
            return;
          }
          w.off = w.buf.length;
        } else w.off += n;
        if (w.off < w.buf.length) return step();
        this.inflight = null;
        this.writing = false;
        if (this.queue.length > 0 || this.dropped > 0) this.flush();
      });
    };
    step();
  }

  /**
   * Writes the rest of the batch being written and what is queued, synchronously (at exit). stderr may
   * be non-blocking (libuv makes pipes so): a full pipe is waited for, up to 10 s. A write call still in
   * flight at that moment may have its (at most 64 KiB) part written twice; none is lost.
   */
  flushSync(): void {
    const w = this.inflight;
    this.inflight = null;
    this.writing = false;
    const rest = w ? w.buf.subarray(w.off) : Buffer.alloc(0);
    if (rest.length === 0 && this.queue.length === 0 && this.dropped === 0) return;
    const buf = Buffer.concat([rest, Buffer.from(this.take(), 'utf8')]);
    const until = Date.now() + 10_000;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(2, buf, off, buf.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > until) return; // stderr gone
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }
}

const stderrSink = new StderrSink();

/** The default log sink: queues `line` for stderr (see `StderrSink`). */
export function stderrLine(line: string): void {
  stderrSink.line(line);
}

/** Writes every queued log line now, synchronously (before a deliberate `process.exit`). */
export function flushLogsSync(): void {
  stderrSink.flushSync();
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = createLogger({ level: 'silent' });

/**
 * Wraps a log call so that at most `perInterval` messages pass each `intervalMs`; the number suppressed
 * is reported with the next message that passes.
 */
export function rateLimited(
  log: (msg: string, fields?: LogFields) => void,
  perInterval = 5,
  intervalMs = 60_000,
): (msg: string, fields?: LogFields) => void {
  let windowStart = 0;
  let count = 0;
  let suppressed = 0;
  return (msg, fields) => {
    const now = Date.now();
    if (now - windowStart >= intervalMs) {
      windowStart = now;
      count = 0;
    }
    if (count >= perInterval) {
      suppressed++;
      return;
    }
    count++;
    if (suppressed > 0) {
      log(msg, { ...fields, suppressed });
      suppressed = 0;
    } else log(msg, fields);
  };
}
