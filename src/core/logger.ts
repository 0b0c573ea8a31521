/**
 * A small structured logger: one line per event on stderr, `text` (human) or `json`.
 * Plugins get a child logger bound to their id. `rateLimited` keeps a flood of bad input from turning
 * into a flood of log lines.
 */
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
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
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
