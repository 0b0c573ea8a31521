/**
 * The overview's service panels: one chart per service a host runs — the services configured in this
 * agent, and any other whose metrics the store holds for the host (a host reporting through another
 * agent). Each panel is a few queries in the same batch as the host panels, rates for counters.
 */
import type { StoreHandle } from '../store/handle.js';
import type { BatchQuery, OverviewPanel } from './dashboard-types.js';

type Q = BatchQuery & { label?: string };
type Window = { start: string; end: string; points: number };

/** One series of a panel: the sum over the host's series of `name` (with `tags`), a rate for counters. */
interface Series {
  readonly name: string;
  readonly label?: string;
  readonly rate?: boolean;
  readonly tags?: Record<string, string>;
  readonly groupBy?: string[];
}

interface ServicePanel {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly Series[];
}

const rate = (name: string, label: string, tags?: Record<string, string>): Series => ({ name, label, rate: true, ...(tags ? { tags } : {}) });
const total = (name: string, label: string, tags?: Record<string, string>): Series => ({ name, label, ...(tags ? { tags } : {}) });
/** A panel of counts and rates (no unit). */
const panel = (title: string, ...series: Series[]): ServicePanel => ({ title, unit: '', series });

/** Panels by input plugin name, in the order the overview shows them. */
export const SERVICE_PANELS: Readonly<Record<string, ServicePanel>> = {
  postgresql: panel('PostgreSQL: transactions/s and connections', rate('postgresql.xact_commit', 'commits/s'), rate('postgresql.xact_rollback', 'rollbacks/s'), total('postgresql.connections', 'connections')),
  mysql: panel('MySQL: queries/s and connections', rate('mysql.questions', 'queries/s'), total('mysql.threads_connected', 'connections'), total('mysql.threads_running', 'running')),
  redis: panel('Redis: commands/s and memory', rate('redis.total_commands_processed', 'commands/s'), total('redis.used_memory', 'memory bytes')),
  memcached: panel('memcached: gets and sets/s, items', rate('memcached.cmd_get', 'gets/s'), rate('memcached.cmd_set', 'sets/s'), total('memcached.curr_items', 'items')),
  nginx: panel('nginx: requests/s and connections', rate('nginx.requests', 'requests/s'), total('nginx.active', 'connections')),
  apache: panel('Apache: requests/s and busy workers', rate('apache.total_accesses', 'requests/s'), total('apache.busy_workers', 'busy workers')),
  haproxy: panel('HAProxy: frontend sessions/s and current sessions', rate('haproxy.stot', 'sessions/s', { type: 'frontend' }), total('haproxy.scur', 'current', { type: 'frontend' })),
  procstat: { title: 'Processes: CPU by selection', unit: '%', series: [{ name: 'procstat.cpu_usage', groupBy: ['process'] }] },
};

/** The batch query of one series for host tags `h` over window `w`. */
function seriesQuery(s: Series, h: Record<string, string>, w: Window): Q {
  return {
    name: s.name,
    tags: { ...h, ...s.tags },
    ...(s.rate ? { agg: 'rate' as const } : {}),
    group_by: s.groupBy ?? [],
    group_agg: 'sum',
    ...w,
    ...(s.label !== undefined ? { label: s.label } : {}),
  };
}

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
    if (p) out.push({ id: `service-${s}`, title: p.title, unit: p.unit, queries: p.series.map((q) => seriesQuery(q, h, w)) });
  }
  return out;
}
