/**
 * How long a test waits for a condition before it gives up. Waits end as soon as their condition
 * holds, so a generous bound costs nothing on a healthy run; it only decides when a stuck test fails.
 * Bounds written in tests are for an idle machine and are stretched here (default x5, or
 * `SONDE_TEST_PATIENCE`), so a fully loaded machine (CI, a CPU hog beside the suite) does not fail them.
 */
export const PATIENCE = Math.max(1, Number(process.env['SONDE_TEST_PATIENCE'] ?? 5) || 5);

/** `ms` stretched by `PATIENCE`: the deadline of a wait for something that must happen. */
export function patience(ms: number): number {
  return ms * PATIENCE;
}
