// A check module that reuses the postgresql collector's client: the connection is opened on the first
// run and kept, and closed when the agent stops. Run by examples/services/check-pool.toml.
export default async function ({ config, sonde }) {
  const db = sonde.postgres(config.url, { queryTimeout: '2s' });
  const rows = await db.query('SELECT queue, count(*) AS depth, min(extract(epoch FROM now() - created_at)) AS oldest_s FROM jobs WHERE done_at IS NULL GROUP BY queue');
  return sonde.rows(rows, { prefix: 'app.jobs', tags: ['queue'] });
}
