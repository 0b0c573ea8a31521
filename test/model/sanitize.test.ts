import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeName, sanitizeTags, isValidName, sanitizeComponent } from '../../src/model/sanitize.js';
import { seriesKey, parseSeriesKey } from '../../src/model/series.js';

test('clean names pass through unchanged', () => {
  for (const n of ['cpu.time', 'net.rx_bytes', 'a/b-c_d.e', 'température.salle']) assert.equal(sanitizeName(n), n);
});

test('runs of illegal characters become one underscore, trimmed', () => {
  assert.equal(sanitizeComponent('^@#@foo%$&&*'), 'foo');
  assert.equal(sanitizeComponent('()#@bar&*()baz$^_+'), 'bar_baz');
  assert.equal(sanitizeName('my app..requests  total'), 'my_app.requests_total');
  assert.equal(sanitizeName('.leading.and.trailing.'), 'leading.and.trailing');
});

test('tags: keys and values sanitized, empty entries dropped', () => {
  assert.deepEqual(sanitizeTags({ 'host name': 'web 1', empty: '', '': 'x', ok: 'v' }), {
    host_name: 'web_1',
    ok: 'v',
  });
});

test('isValidName rejects empty and unclean names', () => {
  assert.equal(isValidName(''), false);
  assert.equal(isValidName('a b'), false);
  assert.equal(isValidName('a.b'), true);
});

test('series keys sort tags and round-trip', () => {
  const k = seriesKey('cpu.time', { mode: 'user', cpu: 'total' });
  assert.equal(k, 'cpu.time{cpu=total,mode=user}');
  assert.deepEqual(parseSeriesKey(k), { name: 'cpu.time', tags: { cpu: 'total', mode: 'user' } });
  assert.equal(seriesKey('up', {}), 'up');
});
