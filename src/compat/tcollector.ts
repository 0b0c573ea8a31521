/**
 * Converts a tcollector installation into a sonde config: an exec input over its collectors
 * directory (tcollector protocol), a dedup processor with tcollector's defaults (300 s), and an
 * OpenTSDB output at the TSD host from the `startstop` script or the options.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { discoverTcollectorDir } from '../inputs/exec/discover.js';
import { emptyConfig, type Conversion } from './types.js';

export interface TcollectorOptions {
  /** TSD host and port (tcollector's --host/--port); default from startstop's TSD_HOST, else localhost. */
  host?: string;
  port?: number;
  /** --dedup-interval in seconds (0 = off); default 300. */
  dedupInterval?: number;
  /** --dedup-only-zero. */
  dedupOnlyZero?: boolean;
  /** --tags, e.g. { cluster: 'web' }. */
  tags?: Record<string, string>;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `TSD_HOST=...` from a startstop script (shell variable syntax, optional quotes). */
export function tsdHostFromStartstop(text: string): string | undefined {
  const m = /^\s*TSD_HOST=["']?([^"'\s#]+)["']?/m.exec(text);
  return m?.[1];
}

/**
 * `dir` is tcollector's install directory (holding `collectors/` and maybe `startstop`) or the
 * collectors directory itself.
 */
export function readTcollectorDir(dir: string, opts: TcollectorOptions = {}): Conversion {
  const root = resolve(dir);
  const collectorsDir = isDir(join(root, 'collectors')) ? join(root, 'collectors') : root;
  const warnings: string[] = [];
  const comments: Record<string, string[]> = {};
  const config = emptyConfig();

  let host = opts.host;
  if (host === undefined) {
    for (const p of [join(root, 'startstop'), join(collectorsDir, '..', 'startstop')]) {
      if (!existsSync(p)) continue;
      try {
        host = tsdHostFromStartstop(readFileSync(p, 'utf8'));
      } catch {
        // unreadable: fall back below
      }
      if (host !== undefined) break;
    }
  }
  if (host === undefined) {
    host = 'localhost';
    warnings.push('TSD host unknown (no --host, no TSD_HOST in startstop): using localhost');
  }
  const port = opts.port ?? 4242;

  if (opts.tags && Object.keys(opts.tags).length > 0) config.agent['tags'] = { ...opts.tags };
  comments['agent'] = ['Global tags (tcollector --tags); the host tag is added by the agent.'];

  const found = discoverTcollectorDir(collectorsDir);
  for (const p of found.problems) warnings.push(p);
  const byInterval = new Map<number, string[]>();
  for (const c of found.collectors) byInterval.set(c.intervalMs / 1000, [...(byInterval.get(c.intervalMs / 1000) ?? []), c.name]);
  const listing = [...byInterval.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, names]) => `${s === 0 ? 'long-running' : `every ${s}s`}: ${names.join(', ')}`);
  if (found.collectors.length === 0) warnings.push(`no executable collectors found under ${collectorsDir}`);

  config.inputs['exec'] = [{ dir: collectorsDir, protocol: 'tcollector' }];
  comments['inputs.exec.0'] = [
    'tcollector collectors: <N>/ run every N seconds, 0/ run continuously (respawned).',
    'Exit code 13 = do not restart; a changed file is restarted.',
    ...listing.map((l) => `  ${l}`),
  ];

  const dedup = opts.dedupInterval ?? 300;
  if (dedup > 0) {
    config.processors['dedup'] = [{ max_interval: `${dedup}s`, only_zero: opts.dedupOnlyZero ?? false, evict_after: '6000s' }];
    comments['processors.dedup.0'] = ['tcollector deduplication: repeated values are sent at most every max_interval.'];
  }
  config.outputs['opentsdb'] = [{ url: `http://${host}:${port}` }];
  comments['outputs.opentsdb.0'] = ['tcollector sent to a TSD over telnet; sonde uses the HTTP API (/api/put).'];
  return { config, comments, warnings };
}
