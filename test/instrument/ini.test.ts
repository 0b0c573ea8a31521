import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIni } from '../../src/instrument/ini.js';

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
