/**
 * `sonde/check`: types and a typing helper for check modules run by the `check` input.
 *
 * ```ts
 * import { defineCheck } from 'sonde/check';
 * export default defineCheck(async ({ config, sonde }) => {
 *   const db = sonde.postgres(String(config.url));
 *   return sonde.rows(await db.query('SELECT queue, count(*) AS depth FROM jobs GROUP BY queue'), { prefix: 'app.jobs', tags: ['queue'] });
 * });
 * ```
 */
import type { CheckFn } from './inputs/check.js';

export type { CheckContext, CheckFn, CheckPoint } from './inputs/check.js';
export type { CheckHelpers, ClientOptions, RowsOptions, SqlClient, SqlSession } from './inputs/check-helpers.js';
export { ServiceFailure } from './inputs/sql-client.js';

/** Returns `fn` unchanged; it only gives a TypeScript check module its parameter and result types. */
export function defineCheck(fn: CheckFn): CheckFn {
  return fn;
}
