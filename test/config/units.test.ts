import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize, formatDuration } from '../../src/config/units.js';

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
