/**
 * Every error a user can see has a stable code, a message that says what is wrong, and a hint that says
 * what to do. Codes are never reused.
 */
export type ErrorCode =
  | 'SONDE_ERR_CONFIG' // bad config file: syntax, unknown key, wrong type
  | 'SONDE_ERR_CONFIG_FILE' // config file cannot be read
  | 'SONDE_ERR_UNKNOWN_PLUGIN'
  | 'SONDE_ERR_LISTEN' // a listener could not bind
  | 'SONDE_ERR_UNSAFE_BIND' // HTTP bound to a non-loopback address without auth
  | 'SONDE_ERR_DATA_DIR' // data dir not writable or locked by another agent
  | 'SONDE_ERR_STORE'
  | 'SONDE_ERR_NO_DATA' // a query matched nothing where a result is needed (sonde graph)
  | 'SONDE_ERR_USAGE'; // bad command line

export class SondeError extends Error {
  override readonly name = 'SondeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** One problem in a config file, located by file and line. */
export interface ConfigIssue {
  file: string;
  line: number | undefined;
  /** 1-based column, when known (TOML syntax errors, the key's position). */
  column?: number;
  /** The source lines with a caret under the problem. */
  excerpt?: string;
  /** Dotted key path, e.g. `inputs.cpu[0].percpu`. */
  key: string;
  message: string;
  hint?: string;
}

export class ConfigError extends SondeError {
  constructor(readonly issues: ConfigIssue[]) {
    super('SONDE_ERR_CONFIG', issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}` : i.file;
  let s = `${where}: ${i.key ? i.key + ': ' : ''}${i.message}`;
  if (i.excerpt) s += `\n${i.excerpt}`;
  if (i.hint) s += `\n  hint: ${i.hint}`;
  return s;
}
