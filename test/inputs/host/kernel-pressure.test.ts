/** The `pressure` (PSI) and `kernel` (file handles, sockets) collectors over /proc trees written here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pressure, { parsePressure } from '../../../src/inputs/host/pressure.js';
import kernel, { parseFileNr, parseSockstat } from '../../../src/inputs/host/kernel.js';
import { build, selfMetric, value, HAS_PROC } from './helpers.js';

function procTree(files: Record<string, string>): { proc: string; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'sonde-proc-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  return { proc: root, done: () => rmSync(root, { recursive: true, force: true }) };
}

// as Linux 6.x writes them
const CPU_PSI = 'some avg10=1.53 avg60=0.87 avg300=0.40 total=54912330\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
const MEM_PSI = 'some avg10=0.00 avg60=0.05 avg300=0.02 total=1233210\nfull avg10=0.00 avg60=0.01 avg300=0.00 total=402100\n';

test('pressure: avg10/60/300 in percent and the stall total in seconds, per resource', async () => {
  const t = procTree({ 'pressure/cpu': CPU_PSI, 'pressure/memory': MEM_PSI });
  try {
    const { gather, ctx } = build(pressure, {}, { proc: t.proc });
    const pts = await gather(1000);
    assert.equal(value(pts, 'pressure.some_avg10', { resource: 'cpu' }), 1.53);
    assert.equal(value(pts, 'pressure.some_avg300', { resource: 'cpu' }), 0.4);
    assert.equal(value(pts, 'pressure.full_avg60', { resource: 'memory' }), 0.01);
    const total = pts.find((p) => p.name === 'pressure.some_total' && p.tags['resource'] === 'cpu');
    assert.equal(total?.value, 54.91233);
    assert.equal(total?.kind, 'counter');
    assert.equal(pts.filter((p) => p.tags['resource'] === 'io').length, 0, 'no io file: no io points');
    assert.equal(selfMetric(ctx, 'gather_errors'), 0);
  } finally {
    t.done();
  }
});

test('pressure on a kernel without PSI: nothing, and no error every interval', async () => {
  const t = procTree({ loadavg: '0 0 0 1/1 1\n' });
  try {
    const { gather, ctx } = build(pressure, {}, { proc: t.proc });
    assert.deepEqual(await gather(1000), []);
    assert.deepEqual(await gather(2000), []);
    assert.equal(selfMetric(ctx, 'gather_errors'), 0, 'the default input_failing rule stays quiet');
  } finally {
    t.done();
  }
});

test('kernel: file handles against the limit, sockets by protocol', async () => {
  const t = procTree({
    'sys/fs/file-nr': '1667\t0\t2466097\n',
    'net/sockstat': 'sockets: used 90\nTCP: inuse 9 orphan 1 tw 23 alloc 9 mem 58\nUDP: inuse 2 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n',
    'net/sockstat6': 'TCP6: inuse 3\nUDP6: inuse 1\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n',
  });
  try {
    const { gather } = build(kernel, {}, { proc: t.proc });
    const pts = await gather(1000);
    assert.equal(value(pts, 'fd.allocated'), 1667);
    assert.equal(value(pts, 'fd.max'), 2466097);
    assert.ok(Math.abs(value(pts, 'fd.used_percent') - (1667 / 2466097) * 100) < 1e-9);
    assert.equal(value(pts, 'sockets.used'), 90);
    assert.equal(value(pts, 'sockets.tcp_inuse'), 9);
    assert.equal(value(pts, 'sockets.tcp_orphan'), 1);
    assert.equal(value(pts, 'sockets.tcp_time_wait'), 23);
    assert.equal(value(pts, 'sockets.udp_inuse'), 2);
    assert.equal(value(pts, 'sockets.tcp6_inuse'), 3);
  } finally {
    t.done();
  }
});

test('kernel and pressure read this machine', { skip: !HAS_PROC }, async () => {
  const { gather } = build(kernel, {});
  const pts = await gather(Date.now());
  assert.ok(value(pts, 'fd.max') > 0);
  assert.ok(value(pts, 'sockets.used') >= 0);
});

test('fuzz: the parsers never throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      parsePressure(s);
      parseFileNr(s);
      parseSockstat(s);
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(parsePressure('weird line\n').errors.length, 1);
  assert.ok('error' in parseFileNr('x'));
});
