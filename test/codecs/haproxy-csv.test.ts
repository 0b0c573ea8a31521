import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { haproxyInfoName, haproxyUp, parseHaproxyCsv, parseHaproxyInfo } from '../../src/codecs/haproxy-csv.js';
import type { Point } from '../../src/model/point.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TS = 1_796_285_850_000;
const TAGS = { server: '127.0.0.1:18404' };
const fixture = (f: string): string => readFileSync(new URL(`../fixtures/services/${f}`, import.meta.url), 'latin1');
const http = fixture('haproxy-2.6-stat.csv');
const socket = fixture('haproxy-2.6-show-stat.csv');
const info = fixture('haproxy-2.6-show-info.txt');
const find = (pts: Point[], name: string, tags: Record<string, string> = {}): Point | undefined =>
  pts.find((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));

test('golden CSV over HTTP: frontends, backend and servers with their tags, kinds and status', () => {
  const r = parseHaproxyCsv(http, TS, TAGS);
  assert.deepEqual(r.errors, []);
  const pts = r.items;
  const web = { proxy: 'web', sv: 'FRONTEND', type: 'frontend' };
  assert.deepEqual(find(pts, 'haproxy.stot', web), { name: 'haproxy.stot', tags: { ...TAGS, ...web }, value: 6, ts: TS, kind: 'counter' });
  assert.equal(find(pts, 'haproxy.req_tot', web)?.value, 6);
  assert.equal(find(pts, 'haproxy.hrsp_2xx', web)?.value, 6);
  assert.equal(find(pts, 'haproxy.bin', web)?.value, 492);
  assert.equal(find(pts, 'haproxy.bout', web)?.value, 750);
  assert.equal(find(pts, 'haproxy.slim', web)?.value, 9984);
  assert.equal(find(pts, 'haproxy.slim', web)?.kind, 'gauge');
  assert.equal(find(pts, 'haproxy.status_up', web)?.value, 1, 'OPEN');
  const s1 = { proxy: 'app', sv: 's1', type: 'server' };
  const s2 = { proxy: 'app', sv: 's2', type: 'server' };
  assert.equal(find(pts, 'haproxy.status_up', s1)?.value, 1);
  assert.equal(find(pts, 'haproxy.status_up', s2)?.value, 0, 'DOWN');
  assert.equal(find(pts, 'haproxy.lbtot', s1)?.value, 6);
  assert.equal(find(pts, 'haproxy.chkdown', s2)?.value, 1);
  assert.equal(find(pts, 'haproxy.chkdown', s2)?.kind, 'counter');
  assert.equal(find(pts, 'haproxy.check_duration', s1)?.value, 0);
  assert.equal(find(pts, 'haproxy.weight', s1)?.value, 1);
  const be = { proxy: 'app', sv: 'BACKEND', type: 'backend' };
  assert.equal(find(pts, 'haproxy.stot', be)?.value, 6);
  assert.equal(find(pts, 'haproxy.h1_bytes_in', be)?.value, 1480);
  assert.equal(find(pts, 'haproxy.h1_bytes_in', be)?.kind, 'counter');
  // identifiers, enums and text are not metrics
  for (const c of ['pid', 'iid', 'sid', 'type', 'check_code', 'status', 'addr']) assert.equal(find(pts, 'haproxy.' + c), undefined, c);
  assert.deepEqual([...new Set(pts.map((p) => `${p.tags['proxy']}/${p.tags['sv']}`))], ['stats/FRONTEND', 'web/FRONTEND', 'app/s1', 'app/s2', 'app/BACKEND']);
});

test('golden `show stat` from the stats socket parses the same way', () => {
  const r = parseHaproxyCsv(socket, TS, TAGS);
  assert.deepEqual(r.errors, []);
  assert.equal(find(r.items, 'haproxy.stot', { proxy: 'web', sv: 'FRONTEND' })?.value, 6);
  assert.equal(new Set(r.items.map((p) => p.tags['sv'])).size, 4);
});

test('rows can be selected by proxy name', () => {
  const r = parseHaproxyCsv(http, TS, TAGS, (p) => p === 'app');
  assert.deepEqual([...new Set(r.items.map((p) => p.tags['proxy']))], ['app']);
  assert.deepEqual(parseHaproxyCsv(http, TS, TAGS, () => false), { items: [], errors: [] });
});

test('golden `show info`: process-wide gauges and totals', () => {
  assert.equal(haproxyInfoName('CurrConns'), 'curr_conns');
  assert.equal(haproxyInfoName('Memmax_MB'), 'memmax_mb');
  assert.equal(haproxyInfoName('Ulimit-n'), 'ulimit_n');
  assert.equal(haproxyInfoName('Unstoppable Jobs'), 'unstoppable_jobs');
  assert.equal(haproxyInfoName('SslFrontendSessionReuse_pct'), 'ssl_frontend_session_reuse_pct');
  const r = parseHaproxyInfo(info, TS, TAGS);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(find(r.items, 'haproxy.process.cum_conns'), { name: 'haproxy.process.cum_conns', tags: TAGS, value: 10, ts: TS, kind: 'counter' });
  assert.equal(find(r.items, 'haproxy.process.cum_req')?.value, 4);
  assert.equal(find(r.items, 'haproxy.process.curr_conns')?.kind, 'gauge');
  assert.equal(find(r.items, 'haproxy.process.maxconn')?.value, 9984);
  assert.equal(find(r.items, 'haproxy.process.uptime_sec')?.value, 1);
  assert.equal(find(r.items, 'haproxy.process.idle_pct')?.value, 100);
  assert.equal(find(r.items, 'haproxy.process.pool_alloc_bytes')?.value, 140728);
  for (const f of ['name', 'version', 'uptime', 'node', 'build_info', 'pid', 'release_date']) assert.equal(find(r.items, 'haproxy.process.' + f), undefined, f);
  assert.equal(parseHaproxyInfo('Unknown command\n', TS, TAGS).errors.length, 1);
});

test('status words', () => {
  for (const s of ['UP', 'UP 1/3', 'OPEN', 'no check', 'DRAIN', 'NOLB']) assert.equal(haproxyUp(s), 1, s);
  for (const s of ['DOWN', 'DOWN 1/2', 'MAINT', 'MAINT (via app/s1)', 'STOP']) assert.equal(haproxyUp(s), 0, s);
  assert.equal(haproxyUp(''), undefined);
});

test('the HTML stats page is an error', () => {
  const r = parseHaproxyCsv('<!DOCTYPE html>\n<html><body>Statistics Report</body>', TS, TAGS);
  assert.equal(r.items.length, 0);
  assert.match(r.errors[0]?.message ?? '', /not HAProxy stats CSV/);
});

test('fuzz: show info never throws', () => {
  const mutated = mutatedWindow(info, fc.string({ unit: fc.constantFrom(': ', '\n', '_', '-', '9', '.', 'Name'), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), mutated), (s) => {
      for (const p of parseHaproxyInfo(s, TS, TAGS).items) assert.ok(p.name.startsWith('haproxy.process.') && Number.isFinite(p.value));
    }),
    { numRuns: RUNS / 8 },
  );
});

test('fuzz: never throws; every point is finite with proxy/sv/type tags', () => {
  const mutated = mutatedWindow(http, fc.string({ unit: fc.constantFrom(',', '\n', '#', ' ', '-', '1', '.', 'UP', 'DOWN'), maxLength: 6 }), 40);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated, mutated.map((m) => http.split('\n')[0] + '\n' + m)), (s) => {
      for (const p of parseHaproxyCsv(s, TS, TAGS).items) {
        assert.ok(p.name.startsWith('haproxy.') && Number.isFinite(p.value));
        assert.ok(p.tags['proxy'] && p.tags['sv'] && p.tags['type']);
      }
    }),
    { numRuns: RUNS / 4 },
  );
});
