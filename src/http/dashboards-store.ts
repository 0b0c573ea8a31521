/**
 * Saved dashboards: one JSON file per dashboard in `<data_dir>/dashboards/<id>.json`. Every dashboard
 * that comes in (API PUT, import in the browser) is validated against one schema, so a file on disk is
 * always one the dashboard can render.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { AGGREGATES, GROUP_AGGREGATES } from '../store/handle.js';

export const DASHBOARD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** One line in a chart: a metric (glob) with tag filters, how buckets and series combine. */
export const seriesSpecSchema = z.strictObject({
  name: z.string().min(1).max(512),
  tags: z.record(z.string().min(1).max(256), z.string().max(1024)).default({}),
  agg: z.enum(AGGREGATES as ['avg', ...string[]]).default('avg'),
  rate: z.boolean().default(false),
  /** null = one line per series; [] = all into one; [keys] = one line per distinct value of the keys. */
  group_by: z.array(z.string().min(1).max(256)).max(16).nullable().default(null),
  group_agg: z.enum(GROUP_AGGREGATES as ['avg', ...string[]]).default('avg'),
  label: z.string().max(256).optional(),
});

export const panelSchema = z.strictObject({
  title: z.string().max(256).default(''),
  series: z.array(seriesSpecSchema).min(1).max(32),
  unit: z.string().max(32).optional(),
});

export const dashboardSchema = z.strictObject({
  id: z.string().regex(DASHBOARD_ID, 'id: letters, digits, - and _ (at most 64)'),
  title: z.string().min(1).max(256),
  /** Default time range: a duration back from now (`1h`, `24h`). */
  range: z.string().regex(/^\d+(ms|s|m|h|d|w)$/, 'range: a duration such as 1h').default('1h'),
  panels: z.array(panelSchema).max(64).default([]),
  created: z.number().int().nonnegative().optional(),
  updated: z.number().int().nonnegative().optional(),
});

export type SeriesSpec = z.infer<typeof seriesSpecSchema>;
export type Dashboard = z.infer<typeof dashboardSchema>;
export interface DashboardSummary {
  id: string;
  title: string;
  panels: number;
  updated: number | null;
}

export type Validation = { ok: true; dashboard: Dashboard } | { ok: false; errors: string[] };

/** Checks any input (parsed JSON from anywhere); never throws. */
export function validateDashboard(input: unknown): Validation {
  const r = dashboardSchema.safeParse(input);
  if (r.success) return { ok: true, dashboard: r.data };
  return {
    ok: false,
    errors: r.error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`),
  };
}

export class DashboardStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'dashboards');
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  async list(): Promise<DashboardSummary[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: DashboardSummary[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json')) continue;
      const id = n.slice(0, -5);
      if (!DASHBOARD_ID.test(id)) continue;
      const d = await this.get(id);
      if (d) out.push({ id, title: d.title, panels: d.panels.length, updated: d.updated ?? null });
    }
    return out;
  }

  /** The dashboard, or undefined when missing or unreadable (a hand-edited broken file is skipped). */
  async get(id: string): Promise<Dashboard | undefined> {
    if (!DASHBOARD_ID.test(id)) return undefined;
    let text: string;
    try {
      text = await readFile(this.file(id), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const v = validateDashboard(JSON.parse(text));
      return v.ok ? v.dashboard : undefined;
    } catch {
      return undefined;
    }
  }

  /** Validates and writes atomically (temp file + rename), so a crash never leaves half a file. */
  async put(id: string, input: unknown): Promise<Validation> {
    if (!DASHBOARD_ID.test(id)) return { ok: false, errors: ['id: letters, digits, - and _ (at most 64)'] };
    const body = input && typeof input === 'object' && !Array.isArray(input) ? { ...(input as object), id } : input;
    const v = validateDashboard(body);
    if (!v.ok) return v;
    const prev = await this.get(id);
    const now = Date.now();
    const d: Dashboard = { ...v.dashboard, created: prev?.created ?? v.dashboard.created ?? now, updated: now };
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file(id)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(d, null, 2) + '\n');
    await rename(tmp, this.file(id));
    return { ok: true, dashboard: d };
  }

  async delete(id: string): Promise<boolean> {
    if (!DASHBOARD_ID.test(id)) return false;
    try {
      await rm(this.file(id));
      return true;
    } catch {
      return false;
    }
  }
}
