/** `sonde query`: runs a query through the agent API or against the data directory and prints it. */
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { parse, type Parsed } from './args.js';
import { resolveConfig } from './resolve.js';
import { buildQuery } from '../http/query-params.js';
import type { QueryRequest, QueryResult } from '../store/handle.js';
import { openStore } from '../store/index.js';
import { storeOptions } from '../agent.js';
import { seriesKey } from '../model/series.js';
import { AgentUnreachable, agentUrl, authHeaders, getJson, liveAgentPid } from './agent-client.js';
import { fmtNumber, sparkline, table } from './format.js';
import { SondeError } from '../errors.js';
import type { SondeConfig } from '../config/load.js';

export const QUERY_HELP = `Usage: sonde query NAME_GLOB [options]

Queries the embedded store: through the running agent's API, or straight from the data directory when
no agent runs. Prints a table with a sparkline per series (or --json / --csv).

Options:
  -t, --tag K=V         tag filter (repeatable); V may be a glob, a|b, or !x
  -s, --since DUR       window ending now (default 1h)
      --start TIME      start: epoch ms/s, ISO date or relative (-2h)
      --end TIME        end (default now)
      --step DUR        bucket width, e.g. 1m (default: raw points)
  -a, --agg AGG         avg, min, max, sum, count, last, first, rate (default avg)
  -g, --group-by KEYS   combine series by these tag keys (comma separated; "" = all into one)
      --group-agg AGG   how grouped series combine: avg, min, max, sum, count (default sum)
      --limit N         at most N series
      --max-points N    at most N points of a raw result (no --step), all series together;
                        default 100000, at most 1000000; a cut result warns on stderr
      --json | --csv    machine-readable output
      --url URL         agent API base URL (default from config [http] listen)
  -c, --config FILE     config file;  -d, --data-dir DIR  data directory
`;

/** The flags `sonde query` and `sonde graph` share: the query, where to run it, the config. */
export const QUERY_FLAGS = {
  tag: { type: 'string', short: 't', multiple: true },
  since: { type: 'string', short: 's' },
  start: { type: 'string' },
  end: { type: 'string' },
  step: { type: 'string' },
  agg: { type: 'string', short: 'a' },
  'group-by': { type: 'string', short: 'g' },
  'group-agg': { type: 'string' },
  limit: { type: 'string' },
  'max-points': { type: 'string' },
  url: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string', short: 'd' },
} as const;

/** Builds the query from QUERY_FLAGS values; bad values are usage errors that point at the command's help. */
export function queryFromFlags(command: string, name: string | undefined, values: Parsed<typeof QUERY_FLAGS>['values'], defaultLimit?: string): QueryRequest {
  try {
    return buildQuery({
      name,
      tags: values.tag,
      since: values.since,
      start: values.start,
      end: values.end,
      step: values.step,
      agg: values.agg,
      groupBy: values['group-by'],
      groupAgg: values['group-agg'],
      limit: values.limit ?? defaultLimit,
      maxPoints: values['max-points'],
    });
  } catch (e) {
    throw new SondeError('SONDE_ERR_USAGE', `${command}: ${(e as Error).message}`, `see \`sonde ${command} --help\``);
  }
}

/** The warning for a result the point cap cut, or undefined when it was not cut. */
export function pointsCutWarning(result: QueryResult): string | undefined {
  if (!result.pointsTruncated) return undefined;
  const at = result.truncatedAt === undefined ? '' : `; nothing from ${new Date(result.truncatedAt).toISOString()} on`;
  return `warning: raw result cut at ${result.maxPoints ?? '?'} points${at}: narrow the range, raise --max-points or pass --step`;
}

export async function runQuery(cfg: SondeConfig, q: QueryRequest, url?: string): Promise<QueryResult> {
  const base = agentUrl(cfg, url);
  try {
    return await getJson<QueryResult>(base, 'api/v1/query', { ...authHeaders(cfg), 'content-type': 'application/json' }, {
      method: 'POST',
      // the API reads a bare number as seconds (like the config): send the step in ms explicitly
      body: JSON.stringify({ ...q, step: q.step === undefined ? undefined : `${q.step}ms`, tags: q.tags ?? {}, group_by: q.groupBy, group_agg: q.groupAgg, max_points: q.maxPoints }),
    });
  } catch (e) {
    if (!(e instanceof AgentUnreachable) || url) throw e;
    const pid = liveAgentPid(cfg);
    if (pid !== undefined) {
      throw new SondeError('SONDE_ERR_USAGE', `${(e as Error).message}, but agent pid ${pid} holds the data directory`, 'pass --url of its API, or enable [http]');
    }
    const dir = join(resolve(cfg.baseDir, cfg.agent.data_dir), 'store');
    if (!existsSync(dir)) throw new SondeError('SONDE_ERR_STORE', `no agent running and no store at ${dir}`, 'start one with `sonde run`, or pass --data-dir');
    const store = await openStore(dir, storeOptions(cfg.store));
    try {
      return await store.query(q);
    } finally {
      await store.close();
    }
  }
}

export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('query', argv, {
    ...QUERY_FLAGS,
    json: { type: 'boolean' },
    csv: { type: 'boolean' },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(QUERY_HELP);
    return values.help ? 0 : 2;
  }
  const cfg = await resolveConfig({ config: values.config, dataDir: values['data-dir'] });
  const q = queryFromFlags('query', positionals[0], values);
  const result = await runQuery(cfg, q, values.url);
  // on stderr, so --json and --csv output stays parseable
  const cut = pointsCutWarning(result);
  if (cut) process.stderr.write(cut + '\n');
  if (values.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  if (values.csv) {
    const lines = ['series,timestamp,value'];
    for (const s of result.series) {
      const key = seriesKey(s.name, s.tags);
      s.timestamps.forEach((t, i) => lines.push(`"${key.replace(/"/g, '""')}",${t},${s.values[i] ?? ''}`));
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  if (result.series.length === 0) {
    process.stdout.write(`no series match ${q.name}${q.tags ? ' ' + JSON.stringify(q.tags) : ''} in the window\n`);
    return 0;
  }
  const rows = result.series.map((s) => {
    const nums = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
    const avg = nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    return [
      seriesKey(s.name, s.tags),
      String(nums.length),
      fmtNumber(nums.length ? (nums[nums.length - 1] as number) : null),
      fmtNumber(nums.length ? Math.min(...nums) : null),
      fmtNumber(nums.length ? Math.max(...nums) : null),
      fmtNumber(avg),
      sparkline(s.values),
    ];
  });
  process.stdout.write(table(['series', 'points', 'last', 'min', 'max', 'avg', 'trend'], rows) + '\n');
  if (result.truncated) process.stdout.write(`(more series matched; raise --limit)\n`);
  process.stdout.write(`resolution: ${result.resolution}\n`);
  return 0;
}
