/**
 * The error catalogue: every error a user can see has a stable code (`SONDE_ERR_...`, never reused or
 * renamed), a message template that says what is wrong and a hint that says what to do. Config
 * validation, the CLI, the HTTP API and the network layer all take their errors from here, so a code in
 * a log line, an HTTP answer or the docs means the same thing everywhere.
 *
 * Templates name their parameters in braces: `{key}` is replaced by `params.key` (missing ones stay as
 * written). `status` is the HTTP status an API answers with for that code, where it is an HTTP error.
 */
export interface CatalogueEntry {
  readonly message: string;
  readonly hint: string;
  readonly status?: number;
}

export const ERRORS = {
  // configuration and start-up
  SONDE_ERR_CONFIG: { message: 'bad config: {detail}', hint: 'fix the key named above; `sonde config check` lists every problem' },
  SONDE_ERR_CONFIG_FILE: { message: 'cannot read the config file {file}: {detail}', hint: 'check the path and its permissions, or pass --config' },
  SONDE_ERR_UNKNOWN_PLUGIN: { message: 'unknown plugin "{name}"', hint: 'run `sonde plugins` for the names this build knows' },
  SONDE_ERR_LISTEN: { message: 'cannot listen on {where}: {detail}', hint: 'change the address in the config (use "" to disable this listener)' },
  SONDE_ERR_UNSAFE_BIND: {
    message: 'refusing to serve {what} on {where} without authentication',
    hint: 'set a token or basic auth for it, or listen on 127.0.0.1',
  },
  SONDE_ERR_DATA_DIR: { message: 'data directory {dir}: {detail}', hint: 'pass --data-dir with a directory you can write to that no other agent uses' },
  SONDE_ERR_STORE: { message: 'store: {detail}', hint: 'see the store log lines above; `sonde status` shows the store state' },
  SONDE_ERR_USAGE: { message: '{detail}', hint: 'run `sonde --help`' },
  SONDE_ERR_NO_DATA: { message: 'nothing matches {query}', hint: 'check the name with `sonde query NAME --since 1h` (globs: cpu.*), the tags, and the time range' },
  // requests (HTTP API and receivers)
  SONDE_ERR_BAD_REQUEST: { message: '{detail}', hint: 'see the API reference in the README for the expected body', status: 400 },
  SONDE_ERR_BAD_JSON: { message: 'body is not valid JSON: {detail}', hint: 'send a JSON document (Content-Type: application/json)', status: 400 },
  SONDE_ERR_UNAUTHORIZED: {
    message: 'unauthorized: send the configured token (Authorization: Bearer ...) or basic auth',
    hint: 'the token or user:password is in the listener\'s config section',
    status: 401,
  },
  SONDE_ERR_NOT_FOUND: { message: 'no route for {path}', hint: 'see the API reference in the README', status: 404 },
  SONDE_ERR_METHOD: { message: 'method {method} not allowed; use {allowed}', hint: 'see the API reference in the README', status: 405 },
  SONDE_ERR_BODY_TOO_LARGE: {
    message: 'request body exceeds the limit of {limit} bytes',
    hint: 'send smaller batches, or raise the receiver\'s max_body_size',
    status: 413,
  },
  SONDE_ERR_BODY_ENCODING: {
    message: 'cannot decode the request body: {detail}',
    hint: 'send identity, gzip, deflate or snappy (zstd needs Node 22.15+)',
    status: 415,
  },
  SONDE_ERR_PARSE: { message: 'unable to parse {detail}', hint: 'the receiver section of the README describes the accepted format', status: 400 },
  SONDE_ERR_QUEUE_FULL: {
    message: 'the agent cannot take more points now ({detail}); nothing of this request was acknowledged after the points stored so far',
    hint: 'retry after the Retry-After delay; raise [agent] queue_size or the output buffer_size if this persists',
    status: 429,
  },
  SONDE_ERR_UNAVAILABLE: {
    message: 'the points cannot be stored now: {detail}',
    hint: 'retry after the Retry-After delay; the agent log and `sonde status` tell why the store or queue refuses writes',
    status: 503,
  },
  SONDE_ERR_BUSY: {
    message: 'too many request bytes being decoded at once; retry later',
    hint: 'retry after the Retry-After delay; raise [agent] max_decode_bytes if many large bodies arrive together',
    status: 503,
  },
  SONDE_ERR_INTERNAL: { message: 'internal error: {detail}', hint: 'this is a bug; the agent log has the stack', status: 500 },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** Fills a template's `{name}` placeholders. */
export function formatTemplate(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => (Object.hasOwn(params, k) ? String(params[k]) : all));
}

export class SondeError extends Error {
  override readonly name = 'SondeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }

  /** The error of `code` with the catalogue's message and hint, `params` filled in. */
  static of(code: ErrorCode, params: Readonly<Record<string, string | number>> = {}, hint?: string): SondeError {
    const e: CatalogueEntry = ERRORS[code];
    return new SondeError(code, formatTemplate(e.message, params), hint ?? e.hint);
  }

  /** HTTP status for this error's code (500 when it is not a request error). */
  get status(): number {
    return (ERRORS[this.code] as CatalogueEntry).status ?? 500;
  }
}

/** The JSON body the HTTP API answers an error with: `{ error, code, hint }`. */
export function errorBody(code: ErrorCode, message?: string, params: Readonly<Record<string, string | number>> = {}): {
  error: string;
  code: ErrorCode;
  hint: string;
} {
  const e: CatalogueEntry = ERRORS[code];
  return { error: message ?? formatTemplate(e.message, params), code, hint: e.hint };
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
