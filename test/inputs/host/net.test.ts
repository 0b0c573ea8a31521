import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import net, { parseNetDev } from '../../../src/inputs/host/net.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, selfMetric, value } from './helpers.js';

test('parseNetDev: odd names, a counter glued to the colon, headers skipped', () => {
  const r = parseNetDev(readFileSync(join(fixtureProc('basic'), 'net', 'dev'), 'utf8'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.ifaces.map((i) => i.iface),
    ['lo', 'eth0', 'eth0.100', 'veth1a2b@if3'],
  );
  assert.equal(r.ifaces[2]?.rxBytes, 1234567890123);
  assert.equal(r.ifaces[2]?.txBytes, 999);
  assert.equal(parseNetDev('eth1: 1 2 3\nnonsense\n').errors.length, 2);
});

test('gather on the basic fixture: every counter of eth0', async () => {
  const pts = await build(net, {}, { proc: fixtureProc('basic') }).gather(4);
  assert.equal(assertSane(pts, 4), undefined);
  const eth0 = { iface: 'eth0' };
  assert.equal(value(pts, 'net.rx_bytes', eth0), 278422592);
  assert.equal(value(pts, 'net.rx_packets', eth0), 7683);
  assert.equal(value(pts, 'net.rx_errors', eth0), 1);
  assert.equal(value(pts, 'net.rx_dropped', eth0), 2);
  assert.equal(value(pts, 'net.tx_bytes', eth0), 420864);
  assert.equal(value(pts, 'net.tx_packets', eth0), 4518);
  assert.equal(value(pts, 'net.tx_errors', eth0), 3);
  assert.equal(value(pts, 'net.tx_dropped', eth0), 4);
  assert.equal(only(pts, 'net.rx_bytes', eth0).kind, 'counter');
  // lo is reported unless ignored; names pass the project's tag sanitizer (`@` is not allowed).
  assert.equal(value(pts, 'net.rx_bytes', { iface: 'lo' }), 3193);
  assert.equal(value(pts, 'net.rx_bytes', { iface: 'eth0.100' }), 1234567890123);
  assert.equal(value(pts, 'net.tx_packets', { iface: 'veth1a2b_if3' }), 3);
  assert.equal(value(pts, 'net.rx_dropped', { iface: 'veth1a2b_if3' }), 1);
});

test('interfaces and ignore_interfaces globs', async () => {
  const a = await build(net, { ignore_interfaces: ['lo', 'veth*'] }, { proc: fixtureProc('basic') }).gather(1);
  assert.deepEqual([...new Set(a.map((p) => p.tags['iface']))], ['eth0', 'eth0.100']);
  const b = await build(net, { interfaces: ['eth0.*'] }, { proc: fixtureProc('basic') }).gather(1);
  assert.deepEqual([...new Set(b.map((p) => p.tags['iface']))], ['eth0.100']);
});

test('missing /proc/net/dev is counted', async () => {
  const n = build(net, {}, { proc: fixtureProc('minimal') });
  assert.deepEqual(await n.gather(1), []);
  assert.equal(selfMetric(n.ctx, 'gather_errors'), 1);
});

test('real host: sane net points, lo present', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(net).gather(6);
  assert.equal(assertSane(pts, 6), undefined);
  assert.ok(value(pts, 'net.rx_bytes', { iface: 'lo' }) >= 0);
});

test('fuzz: parseNetDev never throws; values finite', () => {
  fc.assert(
    fc.property(procLikeText(), (text) =>
      parseNetDev(text).ifaces.every((i) => Object.values(i).every((v) => typeof v === 'string' || Number.isFinite(v))),
    ),
    { numRuns: FUZZ_RUNS },
  );
});
