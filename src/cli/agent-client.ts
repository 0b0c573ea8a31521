import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SondeConfig } from '../config/load.js';
import { SondeError } from '../errors.js';
import { parseListen } from '../http/server.js';

/** Talks to a running agent's HTTP API (for `sonde query`, `sonde status`, `sonde graph`). */
export function agentUrl(cfg: SondeConfig, flag?: string): string {
  if (flag) return flag.endsWith('/') ? flag : flag + '/';
  const { host, port } = parseListen(cfg.http.listen);
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}/`;
}

export function authHeaders(cfg: SondeConfig): Record<string, string> {
  if (cfg.http.token) return { authorization: `Bearer ${cfg.http.token}` };
  if (cfg.http.basic_auth) return { authorization: `Basic ${Buffer.from(cfg.http.basic_auth).toString('base64')}` };
  return {};
}

export class AgentUnreachable extends Error {}

export async function getJson<T>(base: string, path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) }, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new AgentUnreachable(`no agent answering at ${base} (${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* plain text */
    }
    throw new SondeError('SONDE_ERR_USAGE', `agent answered ${res.status}: ${msg}`);
  }
  return JSON.parse(text) as T;
}

/** The pid of a live agent using this data dir, if any. */
export function liveAgentPid(cfg: SondeConfig): number | undefined {
  try {
    const pid = Number(readFileSync(join(resolve(cfg.baseDir, cfg.agent.data_dir), 'agent.pid'), 'utf8').trim());
    if (pid > 0) {
      process.kill(pid, 0);
      return pid;
    }
  } catch {
    /* none */
  }
  return undefined;
}
