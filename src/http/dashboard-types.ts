/** The shapes of the dashboard's batch queries and overview panels, shared by the overview and the service panels. */

export interface BatchQuery {
  name?: unknown;
  tags?: unknown;
  since?: unknown;
  start?: unknown;
  end?: unknown;
  step?: unknown;
  /** Instead of a step: about this many buckets over the window (the server picks a round step). */
  points?: unknown;
  agg?: unknown;
  group_by?: unknown;
  group_agg?: unknown;
  limit?: unknown;
  /** Cap on the points of a raw answer (no step, no points); DEFAULT_MAX_POINTS when absent. */
  max_points?: unknown;
}

/** One chart of the host overview: its queries run in one batch with the others. */
export interface OverviewPanel {
  id: string;
  title: string;
  unit: string;
  queries: Array<BatchQuery & { label?: string }>;
  /** `busy`: the browser draws 100 - value (idle percentages as busy ones). */
  transform?: 'busy';
}
