/**
 * The overview's service panels: one chart per service a host runs — the services configured in this
 * agent, and any other whose metrics the store holds for the host (a host reporting through another
 * agent). Each panel is a few queries in the same batch as the host panels, rates for counters.
 */
import type { StoreHandle } from '../store/handle.js';
import type { BatchQuery, OverviewPanel } from './dashboard-types.js';

type Q = BatchQuery & { label?: string };
type Window = { start: string; end: string; points: number };

interface ServicePanel {
  readonly title: string;
  readonly unit: string;
  readonly queries: (h: Record<string, string>, w: Window) => Q[];
}

const rate = (name: string, label: string, h: Record<string, string>, w: Window, tags: Record<string, string> = {}): Q => ({
  name,
  tags: { ...h, ...tags },
  agg: 'rate',
  group_by: [],
  group_agg: 'sum',
  ...w,
  label,
});
const total = (name: string, label: string, h: Record<string, string>, w: Window, tags: Record<string, string> = {}): Q => ({
  name,
  tags: { ...h, ...tags },
  group_by: [],
  group_agg: 'sum',
  ...w,
  label,
});

/** Panels by input plugin name, in the order the overview shows them. */
export const SERVICE_PANELS: Readonly<Record<string, ServicePanel>> = {
  postgresql: {
    title: 'PostgreSQL: transactions/s and connections',
    unit: '',
    queries: (h, w) => [
      rate('postgresql.xact_commit', 'commits/s', h, w),
      rate('postgresql.xact_rollback', 'rollbacks/s', h, w),
      total('postgresql.connections', 'connections', h, w),
    ],
  },
  mysql: {
    title: 'MySQL: queries/s and connections',
    unit: '',
    queries: (h, w) => [rate('mysql.questions', 'queries/s', h, w), total('mysql.threads_connected', 'connections', h, w), total('mysql.threads_running', 'running', h, w)],
  },
  redis: {
    title: 'Redis: commands/s and memory',
    unit: '',
    queries: (h, w) => [rate('redis.total_commands_processed', 'commands/s', h, w), total('redis.used_memory', 'memory bytes', h, w)],
  },
  memcached: {
    title: 'memcached: gets and sets/s, items',
    unit: '',
    queries: (h, w) => [rate('memcached.cmd_get', 'gets/s', h, w), rate('memcached.cmd_set', 'sets/s', h, w), total('memcached.curr_items', 'items', h, w)],
  },
  nginx: {
    title: 'nginx: requests/s and connections',
    unit: '',
    queries: (h, w) => [rate('nginx.requests', 'requests/s', h, w), total('nginx.active', 'connections', h, w)],
  },
  apache: {
    title: 'Apache: requests/s and busy workers',
    unit: '',
    queries: (h, w) => [rate('apache.total_accesses', 'requests/s', h, w), total('apache.busy_workers', 'busy workers', h, w)],
  },
  haproxy: {
    title: 'HAProxy: frontend sessions/s and current sessions',
    unit: '',
    queries: (h, w) => [rate('haproxy.stot', 'sessions/s', h, w, { type: 'frontend' }), total('haproxy.scur', 'current', h, w, { type: 'frontend' })],
  },
  procstat: {
    title: 'Processes: CPU by selection',
    unit: '%',
    queries: (h, w) => [{ name: 'procstat.cpu_usage', tags: h, group_by: ['process'], group_agg: 'sum', ...w }],
  },
};

export const SERVICES: readonly string[] = Object.keys(SERVICE_PANELS);

/**
 * The services to show for `host`: those `configured` (input names of this agent, when `host` is the
 * agent's own) and those with metrics for the host in the store.
 */
export async function servicesOf(store: StoreHandle, host: string, configured: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    SERVICES.map(async (s) => {
      if (configured.includes(s)) return true;
      if (!host) return (await store.names(`${s}.*`, 1)).length > 0;
      return (await store.tagValues('host', `${s}.*`, 100_000)).includes(host);
    }),
  );
  return SERVICES.filter((_, i) => found[i]);
}

/** The panels of `services` for one host over [start, end). */
export function servicePanels(services: readonly string[], host: string, start: number, end: number, points = 400): OverviewPanel[] {
  const w: Window = { start: String(start), end: String(end), points };
  const h = host ? { host } : {};
  const out: OverviewPanel[] = [];
  for (const s of services) {
    const p = SERVICE_PANELS[s];
    if (p) out.push({ id: `service-${s}`, title: p.title, unit: p.unit, queries: p.queries(h, w) });
  }
  return out;
}
