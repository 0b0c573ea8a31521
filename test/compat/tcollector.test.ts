/**
 * tcollector installs as they are laid out today: collectors/{lib,etc,available,enabled/<N>} with the
 * enabled ones symlinked into available/, collectors importing `collectors.lib.utils` and
 * `collectors.etc.*`, settings in collectors/etc/config.py get_defaults() and startstop, and
 * tcollector's flags. The agent runs the migrated config; what the collectors printed is what the TSD
 * (a telnet listener) received and what the store holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readTcollectorDir, shellVars, takeTcollectorFlags, tcollectorSettings } from '../../src/compat/tcollector.js';
import { migrate } from '../../src/compat/migrate.js';
import type { TomlTable } from '../../src/compat/toml.js';
import { hasPython, startMigrated, storedPoints, telnetTsd, waitUntil, write } from './helpers.js';

// Our own files, in tcollector's layout and with its imports.
const UTILS = `"""Helpers shared by the collectors (fixture)."""
import sys


def drop_privileges(user="nobody"):
    return user


def err(msg):
    print(msg, file=sys.stderr)
`;
const CONFIG_PY = `import os
import sys


def onload(options, tags):
    raise RuntimeError("onload must not be called by a migration")


def get_defaults():
    default_cdir = os.path.join(os.path.dirname(os.path.realpath(sys.argv[0])), 'collectors/enabled')
    return {
        'verbose': False,
        'no_tcollector_stats': False,
        'evictinterval': 7200,
        'dedupinterval': 600,
        'deduponlyzero': False,
        'allowed_inactivity_time': 300,
        'dryrun': False,
        'maxtags': 8,
        'http_password': False,
        'reconnectinterval': 0,
        'http_username': False,
        'port': 4243,
        'pidfile': '/var/run/tcollector.pid',
        'http': False,
        'http_api_path': "api/put",
        'tags': ['dc=fixture'],
        'remove_inactive_collectors': False,
        'host': 'tsd.defaults.example',
        'logfile': '/var/log/tcollector.log',
        'cdir': default_cdir,
        'ssl': False,
        'stdin': False,
        'daemonize': False,
        'hosts': False,
        'monitoring_interface': None,
        'monitoring_port': 13280,
        'namespace_prefix': '',
    }
`;
const COUNTER_CONF = `def get_config():
    return {'collection_interval': 0.15, 'lines': 5}
`;
// long-lived: prints `lines` lines (ms timestamps), logging each to $FIXTURE_LOG, then idles
const COUNTER = `#!/usr/bin/env python3
"""A long-lived collector in tcollector's style."""
import os
import sys
import time

from collectors.lib import utils
from collectors.etc import counter_conf


def main():
    utils.drop_privileges()
    cfg = counter_conf.get_config()
    log = open(os.path.join(os.environ['FIXTURE_LOG'], 'printed.log'), 'a')
    for i in range(cfg['lines']):
        line = 'fixture.counter %d %d kind=long' % (int(time.time() * 1000), 100 + i)
        print(line)
        sys.stdout.flush()
        log.write(line + '\\n')
        log.flush()
        time.sleep(cfg['collection_interval'])
    while True:
        time.sleep(60)


if __name__ == '__main__':
    sys.exit(main())
`;
// one-shot: one line per run for its first three runs, tagged with a value from collectors.etc.config
const ONESHOT = `#!/usr/bin/env python3
import os
import sys
import time

from collectors.etc import config
from collectors.lib import utils


def main():
    state = os.path.join(os.environ['FIXTURE_LOG'], 'runs')
    n = int(open(state).read()) if os.path.exists(state) else 0
    if n >= 3:
        return 0
    open(state, 'w').write(str(n + 1))
    line = 'fixture.oneshot %d %d port=%d' % (int(time.time() * 1000), n + 1, config.get_defaults()['port'])
    print(line)
    with open(os.path.join(os.environ['FIXTURE_LOG'], 'printed.log'), 'a') as log:
        log.write(line + '\\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
`;
const STARTSTOP = `#!/bin/bash
# tcollector init script (fixture, rpm initd style)
TSD_HOST=tsd.startstop.example
TSD_PORT=4244
THIS_HOST=\`hostname\`
TCOLLECTOR=\${TCOLLECTOR-/usr/local/tcollector/tcollector.py}
RECONNECT_INTERVAL=\${RECONNECT_INTERVAL-0}
`;

/** The packages every layout has: collectors/ with lib/utils.py and etc/ (config.py, counter_conf.py). */
function writeCollectorPackages(root: string): void {
  write(root, 'collectors/__init__.py', '');
  write(root, 'collectors/lib/__init__.py', '');
  write(root, 'collectors/lib/utils.py', UTILS);
  write(root, 'collectors/etc/__init__.py', '');
  write(root, 'collectors/etc/config.py', CONFIG_PY);
  write(root, 'collectors/etc/counter_conf.py', COUNTER_CONF);
}

/** A tcollector install: the current layout, enabled/<N>/ symlinks into available/. */
function currentLayout(): string {
  const root = mkdtempSync(join(tmpdir(), 'sonde-tcollector-'));
  write(root, 'tcollector.py', '#!/usr/bin/env python3\n# the daemon itself; sonde replaces it\n', 0o755);
  write(root, 'startstop', STARTSTOP, 0o755);
  writeCollectorPackages(root);
  write(root, 'collectors/available/linux/long-lived/counter.py', COUNTER, 0o755);
  write(root, 'collectors/available/linux/one-shot/oneshot.py', ONESHOT, 0o755);
  write(root, 'collectors/available/linux/long-lived/not_enabled.py', COUNTER, 0o755);
  for (const n of ['0', '1', '300', '900']) mkdirSync(join(root, 'collectors/enabled', n), { recursive: true });
  write(root, 'collectors/enabled/300/.gitkeep', '');
  symlinkSync('../../available/linux/long-lived/counter.py', join(root, 'collectors/enabled/0/counter.py'));
  symlinkSync('../../available/linux/one-shot/oneshot.py', join(root, 'collectors/enabled/1/oneshot.py'));
  return root;
}

function printedLines(logDir: string): string[] {
  const f = join(logDir, 'printed.log');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
}

/** `metric ts value k=v...` to a comparable key with the tags the agent adds. */
function withTags(line: string, extra: Record<string, string>): string {
  const [metric, ts, value, ...tags] = line.split(/\s+/);
  const all = Object.fromEntries([...tags.map((t) => t.split('=') as [string, string]), ...Object.entries(extra)]);
  return [metric, ts, value, ...Object.keys(all).sort().map((k) => `${k}=${all[k] as string}`)].join(' ');
}

test('settings: get_defaults() from collectors/etc/config.py, then startstop TSD_HOST/TSD_PORT, then flags', { skip: !hasPython && 'python3 not installed' }, (t) => {
  const root = currentLayout();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const plain = readTcollectorDir(root);
  assert.deepEqual(plain.warnings, []);
  assert.deepEqual(plain.config.outputs['opentsdb'], [{ protocol: 'telnet', hosts: ['tsd.startstop.example:4244'] }]);
  assert.deepEqual(plain.config.agent['tags'], { dc: 'fixture' });
  assert.deepEqual(plain.config.processors['dedup'], [{ max_interval: '600s', only_zero: false, evict_after: '7200s' }]);
  assert.deepEqual(plain.config.inputs['exec'], [{ dir: join(root, 'collectors'), protocol: 'tcollector', silence_timeout: '300s' }]);
  // the enabled links are what runs, by their link names; not_enabled.py in available/ does not
  assert.match((plain.comments['inputs.exec.0'] ?? []).join('\n'), /long-running: counter\.py\n.*every 1s: oneshot\.py/);
  assert.doesNotMatch((plain.comments['inputs.exec.0'] ?? []).join('\n'), /not_enabled/);

  // only get_defaults (no startstop): its host and port
  rmSync(join(root, 'startstop'));
  assert.deepEqual(readTcollectorDir(root).config.outputs['opentsdb'], [{ protocol: 'telnet', hosts: ['tsd.defaults.example:4243'] }]);

  // tcollector's flags win; -t repeats and adds to the tags of get_defaults
  const { opts, rest } = takeTcollectorFlags([
    '-H', 'tsd.flag', '-p', '4300', '-t', 'role=web', '-t', 'rack=r1', '--evict-interval', '9000', '--allowed-inactivity-time', '120',
    '--namespace-prefix', 'prod', '--max-tags', '12', '--reconnect-interval', '30', '-D', '--logfile', '/var/log/x.log', '--from', 'tcollector',
  ]);
  assert.deepEqual(rest, ['--from', 'tcollector']);
  const r = readTcollectorDir(root, opts);
  assert.deepEqual(r.config.outputs['opentsdb'], [{ protocol: 'telnet', hosts: ['tsd.flag:4300'] }]);
  assert.deepEqual(r.config.agent['tags'], { dc: 'fixture', role: 'web', rack: 'r1' });
  assert.deepEqual(r.config.processors['dedup'], [{ max_interval: '600s', only_zero: false, evict_after: '9000s' }]);
  assert.deepEqual(r.config.processors['rename'], [{ prefix: 'prod.' }]);
  assert.equal(r.config.inputs['exec']?.[0]?.['silence_timeout'], '120s');
  const notes = r.warnings.join('\n');
  assert.match(notes, /tcollector -D: not converted; sonde does not daemonize: run it under systemd/);
  assert.match(notes, /tcollector --logfile \/var\/log\/x\.log: not converted; sonde logs to stderr/);
  assert.match((r.comments['outputs.opentsdb.0'] ?? []).join('\n'), /--reconnect-interval 30: sonde keeps its connection/);
  assert.match((r.comments['outputs.opentsdb.0'] ?? []).join('\n'), /--max-tags 12/);

  // --http --ssl with credentials and a host list
  const http = takeTcollectorFlags(['-L', 'a:4242,b:4242', '--http', '--ssl', '--http-username', 'u', '--http-password', 'p', '--http-api-path', 'tsd/api/put']).opts;
  const h = readTcollectorDir(root, http);
  assert.deepEqual(h.config.outputs['opentsdb'], [{ protocol: 'http', url: 'https://a:4242/tsd', username: 'u', password: 'p' }]);
  assert.ok(h.warnings.some((w) => /several TSDs/.test(w)));
  assert.throws(() => takeTcollectorFlags(['-p', 'x']), /whole number/);
});

test('startstop variables, get_defaults() errors and the hard-coded defaults', { skip: !hasPython && 'python3 not installed' }, (t) => {
  assert.deepEqual(shellVars('TSD_HOST="tsd.example"  # c\nTSD_PORT=4343\nX=${Y-"/a"}\nZ=`hostname`\n'), { TSD_HOST: 'tsd.example', TSD_PORT: '4343', X: '/a' });
  const root = mkdtempSync(join(tmpdir(), 'sonde-tcollector-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  write(root, 'collectors/etc/config.py', 'raise ImportError("no module named yaml")\n');
  const r = tcollectorSettings(root, join(root, 'collectors'));
  assert.match(r.notes.join('\n'), /config\.py not read .*yaml.*built-in defaults used/);
  assert.equal(r.settings.host, 'localhost');
  assert.equal(r.settings.dedupinterval, 300);
});

test('the agent runs the migrated install: enabled/ links, collectors.lib/collectors.etc imports; the TSD and the store get exactly what was printed', { skip: !hasPython && 'python3 not installed', timeout: 90_000 }, async (t) => {
  const root = currentLayout();
  const logDir = mkdtempSync(join(tmpdir(), 'sonde-tcollector-log-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });
  const tsd = await telnetTsd(t);
  const { opts } = takeTcollectorFlags(['-H', '127.0.0.1', '-p', String(tsd.port)]);
  const m = migrate(root, { tcollector: opts });
  assert.equal(m.kind, 'tcollector');
  // procstats & co. are not enabled: sonde's own host inputs are, and the store is an output
  assert.deepEqual((m.config['inputs'] as TomlTable)['cpu'], [{}]);
  assert.deepEqual((m.config['outputs'] as TomlTable)['store'], [{}]);
  const config = JSON.parse(JSON.stringify(m.config)) as TomlTable;
  const inputs = config['inputs'] as Record<string, TomlTable[]>;
  for (const k of Object.keys(inputs)) if (k !== 'exec') delete inputs[k]; // only the collectors here
  // the per-input env table reaches every collector, next to tcollector's PYTHONPATH
  (inputs['exec']?.[0] as TomlTable)['env'] = { FIXTURE_LOG: logDir };
  const { agent } = await startMigrated(config, t, { hostname: 'fixturehost' });

  const extra = { host: 'fixturehost', dc: 'fixture' };
  const received = () => new Set(tsd.puts.map((l) => withTags(l, {})));
  await waitUntil(
    () => printedLines(logDir).length === 8 && printedLines(logDir).every((l) => received().has(withTags(l, extra))),
    40_000,
    'all 8 printed lines at the TSD',
    () => `printed ${JSON.stringify(printedLines(logDir))}, received ${JSON.stringify(tsd.puts.filter((l) => l.startsWith('fixture.')))}`,
  );
  const printed = printedLines(logDir).map((l) => withTags(l, extra)).sort();
  const fixtures = [...received()].filter((l) => l.startsWith('fixture.')).sort();
  assert.deepEqual(fixtures, printed);
  assert.ok(printed.some((l) => l.startsWith('fixture.oneshot') && l.includes('port=4243')), 'collectors.etc.config was importable');

  let stored: string[] = [];
  await waitUntil(async () => {
    stored = (await storedPoints(agent, 'fixture.*'))
      .map((p) => withTags(`${p.name} ${p.ts} ${p.value} ${Object.entries(p.tags).map(([k, v]) => `${k}=${v}`).join(' ')}`, {}))
      .sort();
    return stored.length >= printed.length;
  }, 20_000, 'the points in the store');
  assert.deepEqual(stored, printed);
  assert.equal(hostname() !== '', true);
});

test('the old layout <N>/ next to an empty enabled/ (an upgraded tree) runs, with the same PYTHONPATH', { skip: !hasPython && 'python3 not installed', timeout: 90_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sonde-tcollector-old-'));
  const logDir = mkdtempSync(join(tmpdir(), 'sonde-tcollector-log-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });
  writeCollectorPackages(root);
  write(root, 'collectors/0/counter.py', COUNTER, 0o755);
  for (const n of ['0', '300', '900']) write(root, `collectors/enabled/${n}/.gitkeep`, '');
  const tsd = await telnetTsd(t);
  const m = migrate(join(root, 'collectors'), { tcollector: { host: '127.0.0.1', port: tsd.port }, noStore: true });
  assert.deepEqual((m.config['outputs'] as TomlTable)['store'], undefined);
  const config = JSON.parse(JSON.stringify(m.config)) as TomlTable;
  const inputs = config['inputs'] as Record<string, TomlTable[]>;
  for (const k of Object.keys(inputs)) if (k !== 'exec') delete inputs[k];
  (inputs['exec']?.[0] as TomlTable)['env'] = { FIXTURE_LOG: logDir };
  await startMigrated(config, t, { hostname: 'fixturehost' });
  const extra = { host: 'fixturehost', dc: 'fixture' };
  // the agent's own sonde.* self-metrics reach the TSD too: count only the collector's lines
  const fixtures = () => tsd.puts.map((l) => withTags(l, {})).filter((l) => l.startsWith('fixture.')).sort();
  await waitUntil(
    () => printedLines(logDir).length === 5 && fixtures().length >= 5,
    40_000,
    'five lines at the TSD',
    () => `printed ${JSON.stringify(printedLines(logDir))}, received ${JSON.stringify(fixtures())}`,
  );
  assert.deepEqual(fixtures(), printedLines(logDir).map((l) => withTags(l, extra)).sort());
});
