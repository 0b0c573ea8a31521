import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_UNITS, parseDuration, parseSize, formatDuration, scanDuration } from '../../src/model/quantities.js';
import { parsePromDuration } from '../../src/query/time.js';

test('durations', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('15d'), 15 * 86_400_000);
  assert.equal(parseDuration(2.5), 2500);
  assert.equal(parseDuration('7'), 7000);
  for (const bad of ['', 'ten', '10x', 's10', '1h 30m', '-5s']) assert.equal(parseDuration(bad), undefined, bad);
});

test('sizes', () => {
  assert.equal(parseSize('10GiB'), 10 * 1024 ** 3);
  assert.equal(parseSize('512MB'), 512e6);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize(100), 100);
  assert.equal(parseSize('12 parsecs'), undefined);
});

test('formatDuration', () => {
  assert.equal(formatDuration(10_000), '10s');
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(250), '250ms');
});

test('one duration scanner: config durations take fractions, Prometheus ones whole numbers and years', () => {
  assert.equal(scanDuration('1m30s', DURATION_UNITS, false), 90_000);
  assert.equal(scanDuration('5ms', DURATION_UNITS, false), 5, 'ms is one unit, not m then s');
  assert.equal(scanDuration('1.5h', DURATION_UNITS, true), 5_400_000);
  assert.equal(scanDuration('1.5h', DURATION_UNITS, false), undefined);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parsePromDuration('1y2d'), 367 * 86_400_000);
  assert.equal(parsePromDuration('1h30m'), 5_400_000);
  for (const bad of ['', '1.5h', '1n', '5', 'h', '1h-']) assert.equal(parsePromDuration(bad), undefined, bad);
  assert.equal(parseDuration('1y'), undefined, 'config durations have no years');
});
