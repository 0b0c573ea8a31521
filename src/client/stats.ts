/**
 * The client library's own counters (errors, flushes, packets), kept in the same SelfMetrics type the
 * agent uses so an application can inspect or export them. Shared by every client in the process.
 */
import { SelfMetrics } from '../core/self-metrics.js';

export const clientMetrics = new SelfMetrics();

/** Message text of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
