import type { Unit } from '../model/units.js';

/**
 * The dashboard's bootstrap document (`GET /api/v1/ui`), shared by the server and the browser code
 * (web/js imports these types through JSDoc, and `npm run typecheck` checks both sides).
 */
export interface UiInfo {
  hostname: string;
  /** Whether the embedded store is open (queries work). */
  store: boolean;
  version: string | null;
  /** The server's clock, ms. */
  now: number;
  /** The collection interval: live views refresh at this pace, rates are taken over it. */
  interval_ms: number;
  /** Metric name -> unit rules (model/units.ts), applied in the browser as on the server. */
  units: { exact: Record<string, Unit>; patterns: Array<[string, Unit]> };
  /** What did not start without stopping the agent (a default port taken). */
  warnings: Array<{ id: string; message: string; hint?: string; at: number }>;
}
