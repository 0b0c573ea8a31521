/**
 * The JSON of `GET /api/v1/alerts`, shared by the server (which builds it) and the dashboard's Alerts
 * page (which type-checks against it through JSDoc imports).
 */
export type AlertStateName = 'OK' | 'ALARM' | 'UNDETERMINED';

/** One alert: a rule and one combination of its group_by tag values. */
export interface AlertInfo {
  rule: string;
  expr: string;
  group: Record<string, string>;
  state: AlertStateName;
  /** When the state last changed, ms. */
  since: number;
  value: number | null;
  fired_at: number | null;
}

/** One rule, with the state of its worst alert and the series it reads. */
export interface AlertRuleInfo {
  name: string;
  expr: string;
  severity: string;
  description: string;
  for_ms: number;
  group_by: string[];
  labels: Record<string, string>;
  /** ALARM when any of its alerts is, else UNDETERMINED when any is (or it has none yet), else OK. */
  state: AlertStateName;
  /** The latest state change of its alerts, ms. */
  last_change: number | null;
  alerts: number;
  /** The selector of its expression: what to query to see the data behind it. */
  series: { name: string; tags: Record<string, string> };
  /** Threshold rules: the aggregate, the comparison and the threshold; null for absence rules. */
  agg: string | null;
  window_ms: number;
  op: string | null;
  threshold: number | null;
}

export interface AlertsResponse {
  alerts: AlertInfo[];
  rules: AlertRuleInfo[];
}
