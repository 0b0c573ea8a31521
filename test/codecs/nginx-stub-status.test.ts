import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseNginxStubStatus } from '../../src/codecs/nginx-stub-status.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TS = 1_796_285_835_000;
const TAGS = { server: '127.0.0.1:18080' };
const golden = readFileSync(new URL('../fixtures/services/nginx-1.22-stub-status.txt', import.meta.url), 'latin1');

test('golden stub_status page: connections (gauges) and totals (counters)', () => {
  const r = parseNginxStubStatus(golden, TS, TAGS);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.items.map((p) => [p.name, p.value, p.kind]),
    [
      ['nginx.active', 1, 'gauge'],
      ['nginx.accepts', 7, 'counter'],
      ['nginx.handled', 7, 'counter'],
      ['nginx.requests', 7, 'counter'],
      ['nginx.reading', 0, 'gauge'],
      ['nginx.writing', 1, 'gauge'],
      ['nginx.waiting', 0, 'gauge'],
    ],
  );
  assert.ok(r.items.every((p) => p.tags === TAGS && p.ts === TS));
});

test('another page (the default nginx welcome page) is an error, with a sample', () => {
  const r = parseNginxStubStatus('<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title>', TS, TAGS);
  assert.equal(r.items.length, 0);
  assert.match(r.errors[0]?.message ?? '', /not an nginx stub_status page/);
  assert.match(r.errors[0]?.sample ?? '', /DOCTYPE/);
});

test('fuzz: never throws; all seven values or none', () => {
  const mutated = mutatedWindow(golden, fc.string({ unit: fc.constantFrom(' ', '\n', ':', '1', '9', 'a', '-'), maxLength: 5 }), 10);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), mutated), (s) => {
      const r = parseNginxStubStatus(s, TS, TAGS);
      assert.ok(r.items.length === 0 || r.items.length === 7);
      assert.ok(r.items.every((p) => Number.isSafeInteger(p.value) && p.value >= 0));
    }),
    { numRuns: RUNS / 4 },
  );
});
