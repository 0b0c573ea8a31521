/**
 * The migration commands as a user types them: `sonde migrate DIR` with tcollector's flags (notes on
 * stderr for the ones sonde does not take over), `sonde config check` on an install, `--no-store`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { sondeSync } from '../helpers/spawn.js';

function tree(files: Record<string, [string, number?]>): string {
  const root = mkdtempSync(join(tmpdir(), 'sonde-cli-migrate-'));
  for (const [rel, [text, mode]] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    chmodSync(p, mode ?? 0o644);
  }
  return root;
}

test('sonde migrate <tcollector install> with tcollector flags: TOML on stdout, what sonde does instead on stderr', (t) => {
  const root = tree({
    'collectors/0/procstats.py': ['#!/usr/bin/env python3\nprint("proc.stat.cpu 1700000000 1 type=user")\n', 0o755],
    'startstop': ['#!/bin/bash\nTSD_HOST=tsd.example\nTSD_PORT=4243\n', 0o755],
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = sondeSync(['migrate', root, '-t', 'dc=a', '-t', 'rack=r1', '-D', '--logfile', '/var/log/t.log', '--no-store']);
  assert.equal(r.status, 0, r.stderr);
  const cfg = parse(r.stdout) as { agent: Record<string, unknown>; outputs: Record<string, unknown>; inputs: Record<string, unknown> };
  assert.deepEqual(JSON.parse(JSON.stringify(cfg.outputs)), { opentsdb: [{ protocol: 'telnet', hosts: ['tsd.example:4243'] }] });
  assert.deepEqual(JSON.parse(JSON.stringify(cfg.agent['tags'])), { dc: 'a', rack: 'r1' });
  assert.equal(cfg.inputs['cpu'], undefined, 'procstats.py is a host collector: no sonde cpu input beside it');
  assert.match(r.stderr, /tcollector -D: not converted; sonde does not daemonize/);
  assert.match(r.stderr, /tcollector --logfile \/var\/log\/t\.log: not converted; sonde logs to stderr/);
  const bad = sondeSync(['migrate', root, '--bogus']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bogus/);
});

test('sonde config check <PuyPuy install> exits 1 listing the settings that did not carry over', (t) => {
  const root = tree({
    'conf/config.ini': ['[SelfConfig]\ncheck_period_seconds: 10\ncluster_name: c\npid_file: /tmp/p.pid\n[TSDB]\ntsdtype: InfluxDB2\naddress: http://127.0.0.1:8086\norganization: o\nbucket: b\ntoken: t\n'],
    'scripts_enabled/check_a.sh': ['#!/bin/sh\necho a 1 t stack\n', 0o755],
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = sondeSync(['config', 'check', root]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /not converted: \[SelfConfig\] pid_file: sonde writes no pid file/);
  writeFileSync(join(root, 'conf/config.ini'), '[SelfConfig]\ncheck_period_seconds: 10\ncluster_name: c\n[TSDB]\ntsdtype: InfluxDB2\naddress: http://127.0.0.1:8086\norganization: o\nbucket: b\ntoken: t\n');
  const ok = sondeSync(['config', 'check', root]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok \(puypuy; converts to/);
});
