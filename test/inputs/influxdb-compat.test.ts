import { test } from 'node:test';
import assert from 'node:assert/strict';
import influxdb, { type InfluxInput } from '../../src/inputs/influxdb.js';
import { testContext } from '../helpers/context.js';
import { influxQuery, missingServer, startInfluxdb } from '../helpers/servers.js';

// The same bodies to a real influxd and to sonde: the lines each keeps must be the same. The bodies are
// 20 lines `<m>,i=<n> v=<n>` with one line broken around quotes.
const CASES: Array<[string, (i: number) => string | undefined]> = [
  ['unterminated', (i) => (i === 5 ? 's="open,v=5' : undefined)],
  ['reopened', (i) => (i === 5 ? 's="open,v=5' : i === 12 ? 's="x",v=12' : undefined)],
  ['multiline', (i) => (i === 5 ? 's="two\nlines",v=5' : undefined)],
  ['escaped', (i) => (i === 5 ? 's="a \\" b",v=5' : undefined)],
  ['quote_in_tag', (i) => (i === 7 ? 'v=7' : undefined)],
];

function body(m: string, special: (i: number) => string | undefined): string {
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    const f = special(i) ?? `v=${i}`;
    const tags = m === 'quote_in_tag' && i === 7 ? `i=${i},q="x` : `i=${i}`;
    lines.push(`${m},${tags} ${f} ${1_700_000_000 + i}`);
  }
  return lines.join('\n') + '\n';
}

test('broken quotes: sonde keeps the same lines a real influxd keeps', { timeout: 60_000 }, async (t) => {
  const skip = missingServer('influxd', 'influxdb');
  if (skip) return t.skip(skip);
  const influx = await startInfluxdb();
  t.after(() => influx.stop());
  const ctx = testContext();
  t.after(() => ctx.cleanup());
  const input = influxdb.create(influxdb.schema.parse({ listen: '127.0.0.1:0' }), ctx) as InfluxInput;
  await input.start?.();
  t.after(() => input.stop?.());
  await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE t')}`, { method: 'POST' });
  for (const [m, special] of CASES) {
    const b = body(m, special);
    const theirs = await fetch(`${influx.url}/write?db=t&precision=s`, { method: 'POST', body: b });
    const ours = await fetch(`http://127.0.0.1:${input.port()}/write?db=t&precision=s`, { method: 'POST', body: b });
    assert.equal(ours.status, theirs.status, `${m}: same status`);
    const q = await influxQuery(influx.url, `SELECT v, i FROM ${m}`, 't');
    const kept = (q.results[0]?.series?.[0]?.values ?? []).map((row) => Number(row[2])).sort((a, b) => a - b);
    const ourKept = ctx.emitted.filter((p) => p.name === `${m}.v`).map((p) => Number(p.tags['i'])).sort((a, b) => a - b);
    assert.deepEqual(ourKept, kept, `${m}: same lines kept`);
  }
});
