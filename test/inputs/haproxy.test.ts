import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import haproxy, { csvUrl } from '../../src/inputs/haproxy.js';
import { missingServer } from '../helpers/servers.js';
import { startHaproxy, type HaproxyServer } from '../helpers/status-servers.js';
import { assertTimesOut, linesWith, pick, rateProcessor, runInput } from '../helpers/service-input.js';
import type { Point } from '../../src/model/point.js';

const skip = missingServer('haproxy', 'haproxy');

/** `show stat` read from the socket by hand: rows by "proxy/sv", columns by name. */
function showStat(socket: string): Promise<Map<string, Map<string, string>>> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: socket });
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('end', () => {
      const [head, ...rows] = out.trim().split('\n');
      const cols = (head ?? '').slice(2).split(',');
      const m = new Map<string, Map<string, string>>();
      for (const r of rows) {
        const f = r.split(',');
        m.set(`${f[0]}/${f[1]}`, new Map(cols.map((c, i) => [c, f[i] ?? ''])));
      }
      resolve(m);
    });
    s.write('show stat\n');
  });
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function requests(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(url);
    await res.text();
    assert.equal(res.status, 200);
  }
}

const rowOf = (pts: Point[], server: string, name: string, proxy: string, sv: string): Point | undefined => pick(pts, name, { server, proxy, sv });

test('the stats page URL gets ;csv', () => {
  assert.equal(csvUrl('http://h:8404/stats').href, 'http://h:8404/stats;csv');
  assert.equal(csvUrl('http://h:8404/stats;csv').href, 'http://h:8404/stats;csv');
});

describe('haproxy input against haproxy', { skip }, () => {
  let backend: Server;
  let backendPort: number;
  let srv: HaproxyServer;
  before(async () => {
    backend = createServer((_q, res) => res.end('from backend\n'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    backendPort = (backend.address() as { port: number }).port;
    srv = await startHaproxy(backendPort, { statsAuth: 'admin:adm1n' });
    await until('s1 UP, s2 DOWN', async () => {
      const st = await showStat(srv.socket);
      return st.get('app/s1')?.get('status') === 'UP' && (st.get('app/s2')?.get('status') ?? '').startsWith('DOWN');
    });
  });
  after(async () => {
    await srv?.stop();
    backend?.close();
  });

  test('stats socket and stats page: per frontend/backend/server counters match show stat', async () => {
    await requests(srv.frontendUrl, 20);
    // a stream is counted when it ends, just after its response went out
    await until('20 sessions on s1', async () => (await showStat(srv.socket)).get('app/s1')?.get('stot') === '20');
    const socketUrl = `unix://${srv.socket}`;
    const run = runInput(haproxy, { servers: [socketUrl, srv.statsUrl], username: 'admin', password: 'adm1n' });
    try {
      const pts = await run.gather();
      const own = await showStat(srv.socket);
      const httpServer = `127.0.0.1:${srv.ports['stats']}`;
      for (const server of [srv.socket, httpServer]) {
        assert.equal(pick(pts, 'haproxy.up', { server })?.value, 1, server);
        for (const [row, col] of [['app/BACKEND', 'stot'], ['app/s1', 'stot'], ['app/s1', 'lbtot'], ['app/s1', 'hrsp_2xx'], ['web/FRONTEND', 'req_tot'], ['app/BACKEND', 'bout']] as const) {
          const [proxy, sv] = row.split('/') as [string, string];
          assert.equal(rowOf(pts, server, 'haproxy.' + col, proxy, sv)?.value, Number(own.get(row)?.get(col)), `${server} ${row} ${col}`);
        }
        assert.equal(rowOf(pts, server, 'haproxy.stot', 'app', 's1')?.value, 20);
        assert.equal(rowOf(pts, server, 'haproxy.stot', 'app', 's1')?.kind, 'counter');
        assert.equal(rowOf(pts, server, 'haproxy.status_up', 'app', 's1')?.value, 1);
        assert.equal(rowOf(pts, server, 'haproxy.status_up', 'app', 's2')?.value, 0, 's2 points at a closed port');
        assert.equal(rowOf(pts, server, 'haproxy.scur', 'web', 'FRONTEND')?.kind, 'gauge');
        assert.equal(rowOf(pts, server, 'haproxy.stot', 'app', 'BACKEND')?.tags['type'], 'backend');
      }
      // show info, from the socket only
      const cum = pick(pts, 'haproxy.process.cum_req', { server: srv.socket });
      assert.equal(cum?.kind, 'counter');
      assert.ok((cum?.value ?? 0) >= 20, `cum_req ${cum?.value}`);
      assert.ok(pick(pts, 'haproxy.process.maxconn', { server: srv.socket }));
      assert.equal(pick(pts, 'haproxy.process.maxconn', { server: httpServer }), undefined);
      assert.deepEqual(run.logs, []);
    } finally {
      run.cleanup();
    }
  });

  test('proxies selects frontends/backends by name', async () => {
    const run = runInput(haproxy, { servers: [srv.socket], proxies: ['we*', 'app'] });
    try {
      const pts = await run.gather();
      assert.deepEqual([...new Set(pts.map((p) => p.tags['proxy']).filter((p) => p !== undefined))].sort(), ['app', 'web']);
    } finally {
      run.cleanup();
    }
  });

  test('a wrong stats password is auth_failed (HTTP 401); a page that is not the stats URI is bad_response', async () => {
    const run = runInput(haproxy, { servers: [srv.statsUrl], username: 'admin', password: 'nope' });
    // the backend itself: a web page that is not the stats CSV (and no session on haproxy's counters)
    const wrong = runInput(haproxy, { servers: [`http://127.0.0.1:${backendPort}/`] });
    try {
      await run.gather();
      await run.gather();
      assert.equal(run.self('errors{reason=auth_failed}'), 2);
      assert.equal(linesWith(run.logs, 'WARN', 'haproxy server refused the credentials', 'HTTP 401').length, 1, run.logs.join('\n'));
      await wrong.gather();
      assert.equal(wrong.self('errors{reason=bad_response}'), 1);
      assert.match(linesWith(wrong.logs, 'reason=bad_response')[0] ?? '', /not HAProxy stats CSV.*stats enable/);
    } finally {
      run.cleanup();
      wrong.cleanup();
    }
  });

  test('down, then restarted: unreachable logged once, recovered, rate skips the reset', async () => {
    const run = runInput(haproxy, { servers: [srv.socket], timeout: '2s' });
    const rate = rateProcessor();
    const s1 = { proxy: 'app', sv: 's1' };
    try {
      const t0 = Date.now();
      const stot = async (): Promise<number> => Number((await showStat(srv.socket)).get('app/s1')?.get('stot'));
      const before = await stot();
      rate.process(await run.gather(t0), t0);
      await requests(srv.frontendUrl, 5);
      await until('5 more sessions on s1', async () => (await stot()) === before + 5);
      const r1 = rate.process(await run.gather(t0 + 1000), t0 + 1000);
      assert.equal(pick(r1, 'haproxy.stot', s1)?.value, 5);
      await srv.kill();
      for (let i = 2; i < 4; i++) assert.equal(pick(await run.gather(t0 + i * 1000), 'haproxy.up')?.value, 0);
      assert.equal(run.self('errors{reason=unreachable}'), 2);
      assert.equal(linesWith(run.logs, 'WARN', 'haproxy server not reachable', `server=${srv.socket}`).length, 1, run.logs.join('\n'));
      await srv.start();
      await until('s1 UP again', async () => (await showStat(srv.socket)).get('app/s1')?.get('status') === 'UP');
      await requests(srv.frontendUrl, 2);
      const back = rate.process(await run.gather(t0 + 4000), t0 + 4000);
      assert.equal(pick(back, 'haproxy.up')?.value, 1);
      assert.equal(pick(back, 'haproxy.stot', s1), undefined, 'counter reset: no rate');
      assert.ok(back.every((p) => p.kind !== 'rate' || p.value >= 0));
      assert.ok(rate.resets() >= 1);
      assert.equal(linesWith(run.logs, 'INFO', 'haproxy server recovered').length, 1);
    } finally {
      run.cleanup();
      rate.cleanup();
    }
  });
});

test('a stats socket that accepts and never answers times out', () =>
  assertTimesOut(haproxy, (port) => ({ servers: [`tcp://127.0.0.1:${port}`], timeout: '300ms' }), 'haproxy.up', ['haproxy server timed out'], /no complete answer within 300 ms/));
