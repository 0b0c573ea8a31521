import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import netstat, { SocketTableCounter, TCP_STATES, parseSnmp } from '../../../src/inputs/host/netstat.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, select, selfMetric, value } from './helpers.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (st: string): string => `   0: 0100007F:1F90 0100007F:0000 ${st} 00000000:00000000 00:00000000 00000000  1000 0 1 1\n`;

function count(text: string, chunk: number): SocketTableCounter {
  const bytes = Buffer.from(text, 'latin1');
  const c = new SocketTableCounter();
  for (let i = 0; i < bytes.length; i += chunk) {
    const part = bytes.subarray(i, Math.min(bytes.length, i + chunk));
    c.push(part, part.length);
  }
  c.end();
  return c;
}

test('SocketTableCounter counts states, skips the header, whatever the chunking', () => {
  const text = HEADER + row('01') + row('0A') + row('01') + row('06') + row('0a') + '   9: x y ZZ\n' + row('08').trimEnd();
  for (const chunk of [1, 2, 3, 7, 64, 10_000]) {
    const c = count(text, chunk);
    assert.equal(c.states[1], 2, `chunk ${chunk}`);
    assert.equal(c.states[10], 2);
    assert.equal(c.states[6], 1);
    assert.equal(c.states[8], 1);
    assert.equal(c.rows, 6);
    assert.equal(c.malformed, 1);
  }
  assert.equal(TCP_STATES[10], 'listen');
  assert.equal(TCP_STATES[6], 'time_wait');
});

test('parseSnmp pairs header and value lines per protocol', () => {
  const r = parseSnmp('Tcp: A B\nTcp: 1 -1\nUdp: X\nUdp: 5\nIp: 3\n');
  assert.equal(r.protos.get('Tcp')?.get('A'), 1);
  assert.equal(r.protos.get('Tcp')?.get('B'), -1);
  assert.equal(r.protos.get('Udp')?.get('X'), 5);
  assert.equal(r.errors.length, 1);
});

test('gather on the basic fixture: states over tcp + tcp6, udp sockets, protocol counters', async () => {
  const pts = await build(netstat, {}, { proc: fixtureProc('basic') }).gather(12);
  assert.equal(assertSane(pts, 12), undefined);
  // tcp: listen, 2 established, 2 time_wait, close_wait; tcp6: listen, established.
  assert.equal(value(pts, 'netstat.tcp', { state: 'established' }), 3);
  assert.equal(value(pts, 'netstat.tcp', { state: 'listen' }), 2);
  assert.equal(value(pts, 'netstat.tcp', { state: 'time_wait' }), 2);
  assert.equal(value(pts, 'netstat.tcp', { state: 'close_wait' }), 1);
  assert.equal(value(pts, 'netstat.tcp', { state: 'syn_sent' }), 0);
  assert.equal(select(pts, 'netstat.tcp').length, 12);
  assert.equal(only(pts, 'netstat.tcp', { state: 'listen' }).kind, 'gauge');
  assert.equal(value(pts, 'netstat.udp_sockets'), 3);
  assert.equal(value(pts, 'netstat.tcp_retrans_segs'), 17);
  assert.equal(value(pts, 'netstat.tcp_active_opens'), 78);
  assert.equal(value(pts, 'netstat.tcp_attempt_fails'), 5);
  assert.equal(value(pts, 'netstat.tcp_estab_resets'), 6);
  assert.equal(value(pts, 'netstat.tcp_curr_estab'), 3);
  assert.equal(only(pts, 'netstat.tcp_curr_estab').kind, 'gauge');
  assert.equal(value(pts, 'netstat.tcp_in_errs'), 8);
  assert.equal(value(pts, 'netstat.tcp_out_rsts'), 134);
  assert.equal(value(pts, 'netstat.udp_in_errors'), 9);
  assert.equal(value(pts, 'netstat.udp_no_ports'), 4);
  assert.equal(value(pts, 'netstat.udp_rcvbuf_errors'), 11);
  assert.equal(value(pts, 'netstat.udp_sndbuf_errors'), 12);
  assert.equal(only(pts, 'netstat.udp_in_errors').kind, 'counter');
  assert.equal(value(pts, 'netstat.tcp_listen_overflows'), 21);
  assert.equal(value(pts, 'netstat.tcp_listen_drops'), 22);
});

test('no /proc/net at all: every file counted, no points, no throw', async () => {
  const n = build(netstat, {}, { proc: fixtureProc('minimal') });
  assert.deepEqual(await n.gather(1), []);
  assert.equal(selfMetric(n.ctx, 'gather_errors'), 6);
});

test('real host: sane netstat points', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(netstat).gather(1);
  assert.equal(assertSane(pts, 1), undefined);
  assert.ok(select(pts, 'netstat.tcp').length === 12);
  assert.ok(select(pts, 'netstat.tcp_in_segs').length === 1);
});

test('fuzz: socket table counting never throws and is independent of chunking', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (bytes, chunk) => {
      const whole = new SocketTableCounter();
      whole.push(bytes);
      whole.end();
      const parts = count(Buffer.from(bytes).toString('latin1'), chunk);
      return whole.rows === parts.rows && whole.malformed === parts.malformed && whole.states.every((v, i) => v === parts.states[i]);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

test('fuzz: parseSnmp never throws; values finite', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      for (const m of parseSnmp(text).protos.values()) for (const v of m.values()) if (!Number.isFinite(v)) return false;
      return true;
    }),
    { numRuns: FUZZ_RUNS },
  );
});
