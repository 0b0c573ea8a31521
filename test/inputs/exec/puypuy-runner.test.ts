/**
 * sonde's runner for PuyPuy Python checks on its own (one run, --once): what a Python 2 only check, a
 * hanging one (even one that catches every Exception) and a chatty one get; the protocol stream stays
 * clean whatever the checks print.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PUYPUY_RUNNER } from '../../../src/inputs/exec/index.js';
import { hasPython } from './util.js';

test('runner: Python 2 checks are reported as python2, hanging ones interrupted, prints kept off the protocol', { skip: !hasPython && 'python3 not installed' }, (t) => {
  const home = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, 'conf'));
  mkdirSync(join(home, 'checks_enabled'));
  writeFileSync(join(home, 'conf/config.ini'), '[SelfConfig]\ncluster_name: c\nhost_group: g\nlocation: l\nshorthostname: yes\n');
  const checks: Record<string, string> = {
    'check_chatty.py': 'import sys, os\ndef run_chatty():\n    print("not a metric")\n    os.system("echo from a child")\n    push = __import__("pushdata")\n    push.JonSon().gen_data("chatty", 1700000000, 3, push.hostname, "t", push.cluster_name)\n',
    'check_except.py': 'def run_except():\n    try:\n        x = 1\n    except Exception, e:\n        pass\n',
    'check_urllib2.py': 'import urllib2\ndef run_urllib2():\n    pass\n',
    'check_xrange.py': 'def run_xrange():\n    for i in xrange(3):\n        pass\n',
    'check_hang.py': 'import time\ndef run_hang():\n    try:\n        time.sleep(60)\n    except Exception:\n        pass\n',
    'check_noentry.py': 'x = 1\n',
  };
  for (const [f, text] of Object.entries(checks)) writeFileSync(join(home, 'checks_enabled', f), text);
  const started = Date.now();
  const r = spawnSync('python3', [PUYPUY_RUNNER, '--home', home, '--once', '--timeout', '0.5'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 15_000);
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const byCheck = new Map(lines.filter((l) => 'check' in l).map((l) => [l['check'], l]));
  const host = spawnSync('python3', ['-c', 'import socket; print(socket.gethostname())'], { encoding: 'utf8' }).stdout.trim();
  assert.deepEqual(lines.filter((l) => 'name' in l), [{ name: 'chatty', value: 3, ts: 1700000000000, tags: { host, cluster: 'c', group: 'g', location: 'l', type: 't' } }]);
  assert.equal(byCheck.get('check_chatty')?.['ok'], true);
  for (const c of ['check_except', 'check_urllib2', 'check_xrange']) {
    assert.equal(byCheck.get(c)?.['stage'], 'python2', `${c}: ${JSON.stringify(byCheck.get(c))}`);
    assert.match(String(byCheck.get(c)?.['error']), /2to3/);
  }
  assert.equal(byCheck.get('check_hang')?.['stage'], 'timeout');
  assert.equal(byCheck.get('check_noentry')?.['stage'], 'import');
  assert.match(r.stderr, /not a metric/);
  assert.match(r.stderr, /from a child/);
});
