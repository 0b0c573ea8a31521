import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyLocator, formatKeyPath } from '../../src/config/locate.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('keys, tables and arrays of tables are found by path, a plain table also as [0]', () => {
  const loc = new KeyLocator(
    ['[agent]', 'interval = "10s"', '', '[inputs.cpu]', 'percpu = true', '', '[[outputs.influxdb]]', 'url = "a"', '[[outputs.influxdb]]', 'url = "b"'].join('\n'),
  );
  assert.equal(loc.exact(['agent', 'interval']), 2);
  assert.equal(loc.exact(['inputs', 'cpu', 'percpu']), 5);
  assert.equal(loc.exact(['inputs', 'cpu', '0', 'percpu']), 5, 'errors carry the instance index');
  assert.equal(loc.exact(['outputs', 'influxdb', '1', 'url']), 10);
  // an unknown key falls back to its closest ancestor
  assert.equal(loc.line(['outputs', 'influxdb', '1', 'nope']), 9);
});

test('each element of an array value has its own line, nested arrays too', () => {
  const text = [
    '[inputs.graphite]',
    'templates = [',
    '  "servers.* .host.measurement*",  # a comment, with [brackets] and "quotes"',
    '  "a.b, c",',
    '',
    '  "x]y",',
    ']',
    'pairs = [[1, 2], [',
    '  3,',
    '  4]]',
    'one_line = [10, 20]',
    'after = 1',
  ].join('\n');
  const loc = new KeyLocator(text);
  assert.equal(loc.exact(['inputs', 'graphite', 'templates']), 2);
  assert.equal(loc.exact(['inputs', 'graphite', '0', 'templates', '0']), 3);
  assert.equal(loc.exact(['inputs', 'graphite', '0', 'templates', '1']), 4, 'a comma inside a string is not a separator');
  assert.equal(loc.exact(['inputs', 'graphite', '0', 'templates', '2']), 6, 'a ] inside a string does not close the array');
  assert.equal(loc.exact(['inputs', 'graphite', 'pairs', '1', '0']), 9);
  assert.equal(loc.exact(['inputs', 'graphite', 'pairs', '1', '1']), 10);
  assert.equal(loc.exact(['inputs', 'graphite', 'one_line', '1']), 11);
  assert.equal(loc.exact(['inputs', 'graphite', 'after']), 12, 'keys after a multi-line array are still found');
});

test('property: any text is scanned without throwing, and lines found are within the text', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', "'", ',', '#', '=', 'a', '.', ' ', '\n', '\\'), maxLength: 80 }), (text) => {
      const loc = new KeyLocator(text);
      const n = text.split('\n').length;
      for (const p of [['a'], ['a', '0'], ['a', '1'], ['a', 'a', '0']]) {
        const l = loc.line(p);
        assert.ok(l === undefined || (l >= 1 && l <= n));
      }
    }),
    { numRuns: Math.min(RUNS, 20000) },
  );
});

test('formatKeyPath writes indexes in brackets', () => {
  assert.equal(formatKeyPath(['inputs', 'graphite', 0, 'templates', '1']), 'inputs.graphite[0].templates[1]');
});
