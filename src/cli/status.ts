import { parse } from './args.js';
import { resolveConfig } from './resolve.js';
import { agentUrl, authHeaders, getJson } from './agent-client.js';
import { table, fmtNumber } from './format.js';
import type { PluginStatus } from '../core/self-metrics.js';
import type { StoreStats } from '../store/handle.js';

export const STATUS_HELP = `Usage: sonde status [--url URL] [--json] [-c FILE]

Shows a running agent's self-metrics per plugin: points gathered, written, dropped, errors, queue
lengths and the last error, plus the store's size.
`;

interface StatusBody {
  version: string;
  host: string;
  pid: number;
  uptime_ms: number;
  data_dir: string;
  metrics: PluginStatus[];
  global: Record<string, number>;
  store: StoreStats | null;
  warnings?: Array<{ id: string; message: string; hint?: string }>;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse('status', argv, { url: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string', short: 'c' } }, false);
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return 0;
  }
  const cfg = await resolveConfig({ config: values.config });
  const base = agentUrl(cfg, values.url);
  const s = await getJson<StatusBody>(base, 'api/v1/status', authHeaders(cfg));
  if (values.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [
    `sonde ${s.version} on ${s.host} (pid ${s.pid}), up ${Math.round(s.uptime_ms / 1000)}s, data in ${s.data_dir}`,
  ];
  if (s.store) {
    out.push(
      `store: ${s.store.series} series, ${s.store.headPoints + s.store.chunkPoints} points, ${(s.store.diskBytes / 1048576).toFixed(1)} MiB on disk (+${(s.store.walBytes / 1048576).toFixed(1)} MiB WAL)${s.store.thread ? `, on the ${s.store.thread === 'worker' ? 'store worker thread' : "agent's thread"}` : ''}`,
    );
  }
  for (const w of s.warnings ?? []) out.push(`warning: ${w.message}${w.hint ? `\n  hint: ${w.hint}` : ''}`);
  const rows = s.metrics.map((p) => {
    const sum = (prefix: string) =>
      Object.entries(p.metrics)
        .filter(([k]) => k === prefix || k.startsWith(prefix + '{'))
        .reduce((a, [, v]) => a + v, 0);
    return [
      p.id,
      fmtNumber(sum('points_gathered')),
      fmtNumber(sum('points_written')),
      fmtNumber(sum('points_dropped')),
      fmtNumber(sum('errors') + sum('gather_errors') + sum('write_errors')),
      fmtNumber(sum('queue_length')),
      p.lastError ? `${p.lastError.message} (${new Date(p.lastError.at).toISOString()})` : '',
    ];
  });
  out.push('', table(['plugin', 'gathered', 'written', 'dropped', 'errors', 'queued', 'last error'], rows));
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
