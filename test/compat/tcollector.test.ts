/** tcollector directory conversion: collectors, TSD host from startstop, dedup defaults, options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTcollectorDir, tsdHostFromStartstop } from '../../src/compat/tcollector.js';
import dedupSpec from '../../src/processors/dedup.js';

const FIX = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/compat/tcollector');

test('install dir: exec input over collectors/, dedup 300 s, OpenTSDB at TSD_HOST', () => {
  const { config, comments, warnings } = readTcollectorDir(FIX);
  assert.deepEqual(config.inputs, { exec: [{ dir: join(FIX, 'collectors'), protocol: 'tcollector' }] });
  assert.deepEqual(config.processors, { dedup: [{ max_interval: '300s', only_zero: false, evict_after: '6000s' }] });
  assert.deepEqual(config.outputs, { opentsdb: [{ url: 'http://nimbus-opentsdb.no-ip.org:4242' }] });
  assert.deepEqual(warnings, []);
  const listing = (comments['inputs.exec.0'] ?? []).join('\n');
  assert.match(listing, /long-running: heartbeat\.py/);
  assert.match(listing, /every 15s: uptime\.sh/);
  assert.doesNotMatch(listing, /utils/);
  const parsed = dedupSpec.schema.parse(config.processors['dedup']?.[0]);
  assert.equal(parsed.max_interval, 300_000);
});

test('options: host/port, dedup interval and only-zero, tags; collectors dir given directly', () => {
  const { config } = readTcollectorDir(join(FIX, 'collectors'), { host: 'tsd', port: 4343, dedupInterval: 60, dedupOnlyZero: true, tags: { cluster: 'web' } });
  assert.deepEqual(config.outputs, { opentsdb: [{ url: 'http://tsd:4343' }] });
  assert.deepEqual(config.processors['dedup'], [{ max_interval: '60s', only_zero: true, evict_after: '6000s' }]);
  assert.deepEqual(config.agent['tags'], { cluster: 'web' });
  assert.deepEqual(readTcollectorDir(FIX, { dedupInterval: 0 }).config.processors, {});
});

test('missing dir and unknown TSD host are warnings', () => {
  const { warnings } = readTcollectorDir('/nonexistent/tcollector');
  assert.ok(warnings.some((w) => /localhost/.test(w)));
  assert.ok(warnings.some((w) => /no executable collectors/.test(w)));
  assert.equal(tsdHostFromStartstop('X=1\n  TSD_HOST="tsd.example"  # comment\n'), 'tsd.example');
});
