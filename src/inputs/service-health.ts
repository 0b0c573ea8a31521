/**
 * What the service collectors (postgresql, mysql, ...) share about the servers they poll: each
 * failure is classified (`auth_failed`, `unreachable`, `timeout`, `bad_response`, `query_failed`), counted in the
 * plugin's `errors{reason}` self-metric, recorded as its last error, and logged once per server and
 * reason — a server that stays down is not logged every interval. When it answers again one
 * `recovered` line is logged. A gather never throws because of a server.
 */
import type { PluginContext } from '../core/plugin.js';
import type { Counter } from '../core/self-metrics.js';

export type FailureReason = 'auth_failed' | 'unreachable' | 'timeout' | 'bad_response' | 'query_failed';

export const FAILURE_REASONS: readonly FailureReason[] = ['auth_failed', 'unreachable', 'timeout', 'bad_response', 'query_failed'];

export interface Failure {
  readonly reason: FailureReason;
  readonly message: string;
}

/** Error codes of node's net module that mean the server cannot be reached at all. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EACCES']);

/** The errno-style `code` of an error (also of an AggregateError's first error), when it has one. */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCodeOf(e.errors[0]);
  return undefined;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.message) return err.message;
    const inner = (err as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner[0] instanceof Error) return inner[0].message;
    return err.name;
  }
  return String(err);
}

/** Classifies a network-level failure; undefined when it is not one (the caller decides). */
export function networkFailure(err: unknown): Failure | undefined {
  const code = errorCodeOf(err);
  const message = messageOf(err);
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return { reason: 'timeout', message };
  if (code !== undefined && UNREACHABLE.has(code)) return { reason: 'unreachable', message };
  return undefined;
}

/** Runs `p`, rejecting with a `TimeoutError` (code ETIMEDOUT) after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT', name: 'TimeoutError' })), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Failure accounting of one plugin instance over the servers it polls. */
export class ServiceHealth {
  private readonly errors = new Map<FailureReason, Counter>();
  private readonly failing = new Map<string, FailureReason>();
  private readonly loggedQueries = new Set<string>();
  readonly gathers: Counter;

  constructor(
    private readonly ctx: PluginContext,
    private readonly service: string,
  ) {
    for (const r of FAILURE_REASONS) this.errors.set(r, ctx.metrics.counter('errors', { reason: r }, `${service} polls that failed, by reason`));
    this.gathers = ctx.metrics.counter('server_polls', {}, `${service} server polls attempted`);
  }

  /** Counts and logs (once per server and reason) a failed poll of `server`. */
  failed(server: string, f: Failure): void {
    this.errors.get(f.reason)?.inc();
    this.ctx.metrics.lastError(`${server}: ${f.message}`);
    if (this.failing.get(server) === f.reason) return;
    this.failing.set(server, f.reason);
    this.ctx.logger.warn(`${this.service} server ${describeReason(f.reason)}`, { server, reason: f.reason, error: f.message });
  }

  /**
   * Counts a failed statement of a poll that otherwise worked (a view this server version lacks, a
   * missing grant, a statement the server cancelled at its timeout): logged once per server and
   * statement.
   */
  queryFailed(server: string, what: string, err: unknown, reason: FailureReason = 'query_failed'): void {
    const message = messageOf(err);
    this.errors.get(reason)?.inc();
    this.ctx.metrics.lastError(`${server}: ${what}: ${message}`);
    const key = server + '\0' + what;
    if (this.loggedQueries.has(key) || this.loggedQueries.size > 256) return;
    this.loggedQueries.add(key);
    this.ctx.logger.warn(`${this.service} query ${reason === 'timeout' ? 'timed out' : 'failed'}`, { server, query: what, reason, error: message });
  }

  /** Marks a poll of `server` that worked; logs once when it had been failing. */
  ok(server: string): void {
    const was = this.failing.get(server);
    if (was === undefined) return;
    this.failing.delete(server);
    this.ctx.logger.info(`${this.service} server recovered`, { server, after: was });
  }
}

function describeReason(r: FailureReason): string {
  switch (r) {
    case 'auth_failed':
      return 'refused the credentials';
    case 'unreachable':
      return 'not reachable';
    case 'timeout':
      return 'timed out';
    case 'bad_response':
      return 'gave an unexpected answer (wrong address, endpoint or database?)';
    case 'query_failed':
      return 'query failed';
  }
}
