/** INI reader: sections, entries and problems with line numbers; the ConfigParser options (continuation lines, last value wins). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIni, parseIniTable } from '../../src/config/ini.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('sections, = and : entries, comments, line numbers', () => {
  const r = parseIni('# top\n[notifier:statsd]\ndriver = statsd\n; note\nPort: 8125\n\n[nova.api]\nmodule=x.js:Res\nmethod = a = b\n');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.sections.map((s) => [s.name, s.line, [...s.entries].map(([k, e]) => [k, e.value, e.line])]),
    [
      ['notifier:statsd', 2, [['driver', 'statsd', 3], ['port', '8125', 5]]],
      ['nova.api', 7, [['module', 'x.js:Res', 8], ['method', 'a = b', 9]]],
    ],
  );
});

test('problems are values with line numbers', () => {
  const r = parseIni('orphan = 1\n[ok]\nnovalue\n[broken\n[ok]\na=1\na=2\n[]\n');
  assert.deepEqual(
    r.problems.map((p) => [p.line, p.message.split(':')[0]]),
    [
      [1, 'entry outside of any section'],
      [3, 'expected "key = value"'],
      [4, 'section header not closed'],
      [5, 'section [ok] repeats the one on line 2'],
      [7, 'key "a" repeats the one on line 6'],
      [8, 'empty section name'],
    ],
  );
});

test('CRLF input reads the same as LF', () => {
  const a = parseIni('[s]\r\nk = v\r\n');
  assert.equal(a.sections[0]?.entries.get('k')?.value, 'v');
});

test('never throws on arbitrary text, and every problem points at a real line', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.array(fc.constantFrom('[a]', '[', ']', 'k=v', 'k:v', '#c', ';c', ' ', '=', ':', '\n', '\r\n', 'x')).map((a) => a.join(''))), (text) => {
      const r = parseIni(text);
      const lines = text.split(/\r?\n|\r/).length;
      for (const p of r.problems) assert.ok(p.line >= 1 && p.line <= lines);
      for (const s of r.sections) for (const e of s.entries.values()) assert.ok(e.line > s.line && e.line <= lines);
    }),
    { numRuns: RUNS },
  );
});

test('continuation lines join only when asked, and end at a comment or blank line', () => {
  const text = '[s]\nlong = first\n  second\n\n  third = 3\n';
  const plain = parseIni(text);
  assert.deepEqual([...(plain.sections[0]?.entries ?? [])].map(([k, e]) => [k, e.value, e.line]), [
    ['long', 'first', 2],
    ['third', '3', 5],
  ]);
  assert.deepEqual(plain.problems.map((p) => p.line), [3]);
  const joined = parseIni(text, { continuation: true });
  assert.deepEqual(joined.problems, []);
  assert.deepEqual([...(joined.sections[0]?.entries ?? [])].map(([k, e]) => [k, e.value, e.line]), [
    ['long', 'first\nsecond', 2],
    ['third', '3', 5],
  ]);
});

test('a repeated key keeps the first value by default, the last when asked; both report it', () => {
  const text = '[s]\na = 1\nA = 2\n';
  assert.equal(parseIni(text).sections[0]?.entries.get('a')?.value, '1');
  const last = parseIni(text, { repeatedKey: 'last' });
  assert.equal(last.sections[0]?.entries.get('a')?.value, '2');
  assert.deepEqual(last.problems.map((p) => p.line), [3]);
  assert.deepEqual(parseIniTable('[s]\na = 1\n[t]\n[s]\na = 3\n'), { s: { a: '3' }, t: {} });
});

test('section and key names that are Object.prototype members stay plain data', () => {
  const t = parseIniTable('[__proto__]\n__proto__ = x\n[constructor]\n');
  assert.deepEqual(Object.keys(t), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(t), Object.prototype);
  assert.equal(t['__proto__']?.['__proto__'], 'x');
});
