/**
 * A PuyPuy install as cloned: conf/config.ini, checks_enabled/check_*.py written against lib/pushdata,
 * lib/record_rate and a ConfigParser config, scripts_enabled/, and the install's own lib/ (whose
 * pushdata needs pycurl, so using it would fail). `sonde migrate <install>` detects PuyPuy; the agent
 * runs the checks unchanged under sonde's Python runner; the points stored and sent to the backend
 * (an InfluxDB 2 API server checking the v2 request shape; a Prometheus scrape) are what the checks
 * generated, with PuyPuy's tags and rates. A failing check and a Python 2 one are logged and counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { detectSeed, migrate } from '../../src/compat/migrate.js';
import type { TomlTable } from '../../src/compat/toml.js';
import { checkSeedConfig } from '../../src/cli/migrate.js';
import { freePort } from '../helpers/spawn.js';
import { hasPython, recordingHttp, startMigrated, storedPoints, waitUntil, write } from './helpers.js';

const CONFIG_INI = (tsdb: string, web = 'webserver: no\nwebaddress: 0.0.0.0:9898\n') => `[SelfConfig]
check_period_seconds: 1
error_handler: 2
log_file: /tmp/puypuy.log
pid_file: /tmp/puypuy.pid
cluster_name: testcluster
host_group: testing
tmpdir: /tmp/puypuy_tmp
debug_log : False
max_cache : 50000
location : east-west-2
shorthostname : yes

[WebServer]
${web}
[TSDB]
${tsdb}

[Fake Stats]
stat_file: fake/stat
`;

// The install's own library: needs pycurl and a daemon, so a check that got it instead of sonde's fails.
const OWN_PUSHDATA = `import pycurl  # PuyPuy's uploader; sonde's runner must not load this module\n`;

// PuyPuy's original style: run_<name>(), sys.path + __import__('pushdata'), ConfigParser (Python 2 name)
const CHECK_CPU = `import os, sys
import datetime
import ConfigParser

config = ConfigParser.RawConfigParser()
config.read(os.path.split(os.path.dirname(__file__))[0]+'/conf/config.ini')
cluster_name = config.get('SelfConfig', 'cluster_name')
stat_file = os.path.split(os.path.dirname(__file__))[0] + '/' + config.get('Fake Stats', 'stat_file')


def log(name, ts, value, ctype):
    with open(os.environ['FIXTURE_LOG'] + '/generated.log', 'a') as f:
        f.write('%s %s %s %s\\n' % (name, ts, value, ctype))


def run_cpu():
    sys.path.append(os.path.split(os.path.dirname(__file__))[0]+'/lib')
    push = __import__('pushdata')
    jsondata = push.JonSon()
    jsondata.create_data()
    timestamp = int(datetime.datetime.now().strftime("%s"))
    fields = open(stat_file).readline().split()
    for mytype, myvalue in zip(('user', 'nice', 'system', 'idle'), fields[1:5]):
        print('cpu_' + mytype + ' ' + myvalue)  # a check's own output must not disturb the runner
        jsondata.gen_data('cpu_' + mytype, timestamp, myvalue, push.hostname, 'system', cluster_name)
        log('cpu_' + mytype, timestamp, myvalue, 'system')
    jsondata.put_json()
    jsondata.truncate_data()
`;

// reads a fake file, uses the global config PuyPuy's daemon provided, no put_json (the runner sends)
const CHECK_LOADAVG = `import os, sys, time


def run_loadavg():
    sys.path.append(os.path.split(os.path.dirname(__file__))[0]+'/lib')
    push = __import__('pushdata')
    jsondata = push.JonSon()
    jsondata.create_data()
    timestamp = int(time.time())
    group = config.get('SelfConfig', 'host_group')
    one = open(os.path.split(os.path.dirname(__file__))[0] + '/fake/loadavg').read().split()[0]
    jsondata.gen_data('sys_load_1', timestamp, one, push.hostname, 'system_' + group, push.cluster_name)
    with open(os.environ['FIXTURE_LOG'] + '/generated.log', 'a') as f:
        f.write('sys_load_1 %s %s system_%s\\n' % (timestamp, one, group))
`;

// record_value_rate over a counter that grows by a different amount each run
const CHECK_NETRATE = `import os, sys, datetime


def run_netrate():
    sys.path.append(os.path.split(os.path.dirname(__file__))[0]+'/lib')
    push = __import__('pushdata')
    value_rate = __import__('record_rate')
    rate = value_rate.ValueRate()
    jsondata = push.JonSon()
    jsondata.create_data()
    state = os.environ['FIXTURE_LOG'] + '/counter'
    n = int(open(state).read()) if os.path.exists(state) else 0
    n += 1
    open(state, 'w').write(str(n))
    value = 1000 * n + n * n * 7
    timestamp = int(datetime.datetime.now().strftime("%s"))
    net_rate = rate.record_value_rate('net_bytes_rx', value, timestamp)
    jsondata.gen_data('net_bytes_rx', timestamp, net_rate, push.hostname, 'system', push.cluster_name)
    with open(os.environ['FIXTURE_LOG'] + '/counter.log', 'a') as f:
        f.write('%s %s\\n' % (timestamp, value))
    jsondata.put_json()
`;

const CHECK_FAIL = `import os, sys


def run_fail():
    sys.path.append(os.path.split(os.path.dirname(__file__))[0]+'/lib')
    push = __import__('pushdata')
    jsondata = push.JonSon()
    jsondata.gen_data('never_sent', 1, 1, push.hostname, 'system', push.cluster_name)
    open('/nonexistent/sonde/fixture/status').read()
`;

const CHECK_PY2 = `import urllib2

def run_py2():
    print "python 2"
`;

// the later class-based style of PuyPuy's current tree
const CHECK_CLASS = `import lib.getconfig
import lib.pushdata
import lib.basecheck
import lib.puylogger
import os

check_type = 'system'
path = lib.getconfig.getparam('Fake Stats', 'stat_file')


class Check(lib.basecheck.CheckBase):

    def precheck(self):
        procs = len(open(os.path.split(os.getcwd())[0] + '/' + path).read().splitlines())
        self.local_vars.append({'name': 'stat_lines', 'timestamp': self.timestamp, 'value': procs, 'check_type': check_type, 'extra_tag': {'device': 'fake0'}})
        with open(os.environ['FIXTURE_LOG'] + '/generated.log', 'a') as f:
            f.write('stat_lines %s %s %s device=fake0\\n' % (self.timestamp, procs, check_type))
`;

const SCRIPT = `#!/bin/bash
echo bash_value 42 my_bash stack
echo -n bash_other 7 my_bash stack
`;

function install(tsdb: string, web?: string): string {
  const root = mkdtempSync(join(tmpdir(), 'sonde-puypuy-'));
  write(root, 'conf/config.ini', CONFIG_INI(tsdb, web));
  write(root, 'conf/system.ini', '[Load Average]\nstatic_enabled: True\nhigh: 1\nsevere : 2\n');
  write(root, 'conf/__init__.py', '');
  write(root, 'lib/__init__.py', '');
  write(root, 'lib/pushdata.py', OWN_PUSHDATA);
  write(root, 'lib/record_rate.py', 'import lib.puylogger\nlast_value = {}\n');
  write(root, 'lib/puylogger.py', 'import logging.handlers\n');
  write(root, 'fake/stat', 'cpu  4705 150 1120 16250 0 0 0 0 0 0\ncpu0 4705 150 1120 16250 0 0 0 0 0 0\nintr 114930548\n');
  write(root, 'fake/loadavg', '0.42 0.30 0.25 1/180 2121\n');
  write(root, 'puypuy.py', '# the daemon itself: sonde replaces it\n');
  write(root, 'checks_enabled/__init__.py', '');
  write(root, 'checks_available/check_cpu.py', CHECK_CPU);
  symlinkSync('../checks_available/check_cpu.py', join(root, 'checks_enabled/check_cpu.py'));
  write(root, 'checks_enabled/check_loadavg.py', CHECK_LOADAVG);
  write(root, 'checks_enabled/check_netrate.py', CHECK_NETRATE);
  write(root, 'checks_enabled/check_fail.py', CHECK_FAIL);
  write(root, 'checks_enabled/check_py2.py', CHECK_PY2);
  write(root, 'checks_enabled/check_classic.py', CHECK_CLASS);
  write(root, 'scripts_enabled/README.md', 'scripts go here\n');
  write(root, 'scripts_enabled/check_bash.sh', SCRIPT, 0o755);
  return root;
}

interface Gen {
  name: string;
  ts: number;
  value: number;
  type: string;
  extra: Record<string, string>;
}

/** What the checks generated (their own log), rates computed the PuyPuy way from the raw counter. */
function generated(logDir: string): Gen[] {
  const out: Gen[] = [];
  const gen = join(logDir, 'generated.log');
  if (existsSync(gen)) {
    for (const l of readFileSync(gen, 'utf8').split('\n').filter(Boolean)) {
      const [name, ts, value, type, ...extra] = l.split(' ');
      out.push({ name: name as string, ts: Number(ts), value: Number(value), type: type as string, extra: Object.fromEntries(extra.map((e) => e.split('=') as [string, string])) });
    }
  }
  const counter = join(logDir, 'counter.log');
  if (existsSync(counter)) {
    const rows = readFileSync(counter, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').map(Number) as [number, number]);
    for (let i = 1; i < rows.length; i++) {
      const [t0, v0] = rows[i - 1] as [number, number];
      const [t1, v1] = rows[i] as [number, number];
      if (t1 > t0 && v1 >= v0) out.push({ name: 'net_bytes_rx', ts: t1, value: Number(((v1 - v0) / (t1 - t0)).toFixed(2)), type: 'system', extra: {} });
    }
  }
  return out;
}

const HOST = spawnSync('python3', ['-c', 'import socket; print(socket.gethostname())'], { encoding: 'utf8' }).stdout.trim();
const TAGS = { host: HOST, cluster: 'testcluster', group: 'testing', location: 'east-west-2' };
const key = (name: string, tsMs: number, value: number, tags: Record<string, string>) =>
  `${name} ${tsMs} ${value} ${Object.keys(tags).sort().map((k) => `${k}=${tags[k] as string}`).join(',')}`;
const expectedKeys = (g: Gen[]) => g.map((x) => key(x.name, x.ts * 1000, x.value, { ...TAGS, type: x.type, ...x.extra })).sort();

function forAgent(m: TomlTable, logDir: string): TomlTable {
  const config = JSON.parse(JSON.stringify(m)) as TomlTable;
  const inputs = config['inputs'] as Record<string, TomlTable[]>;
  for (const k of Object.keys(inputs)) if (k !== 'exec') delete inputs[k];
  for (const e of inputs['exec'] ?? []) e['env'] = { FIXTURE_LOG: logDir };
  return config;
}

test('sonde migrate <install dir> detects PuyPuy (conf/config.ini), not tcollector; config check does not call dropped keys fine', { skip: !hasPython && 'python3 not installed' }, async (t) => {
  const root = install('address: http://127.0.0.1:8086\ntsdtype: InfluxDB2\norganization: netangels\nbucket: netangels\ntoken: tok123');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(detectSeed(root), 'puypuy');
  assert.equal(detectSeed(join(root, 'conf')), 'puypuy');
  const m = migrate(root);
  assert.equal(m.kind, 'puypuy');
  const inputs = m.config['inputs'] as Record<string, TomlTable[]>;
  assert.deepEqual(inputs['exec'], [
    { puypuy_dir: join(root, 'scripts_enabled'), protocol: 'puypuy', interval: '1s' },
    { puypuy_checks: join(root, 'checks_enabled'), puypuy_home: root, interval: '1s' },
  ]);
  assert.deepEqual((m.config['outputs'] as TomlTable)['influxdb'], [{ url: 'http://127.0.0.1:8086', version: '2', org: 'netangels', bucket: 'netangels', token: 'tok123' }]);
  assert.deepEqual(m.dropped, [
    '[SelfConfig] error_handler: OddEye\'s error reactions have no sonde equivalent (use [alerting] rules)',
    '[SelfConfig] log_file: sonde logs to stderr (journald under systemd)',
    '[SelfConfig] pid_file: sonde writes no pid file (systemd tracks it)',
    "[SelfConfig] tmpdir: failed writes are buffered per output in sonde's data_dir, not in files under tmpdir",
    "[SelfConfig] max_cache: sonde bounds each output's buffer itself (its queue settings), not by a file count",
    '[WebServer] webserver: not a PuyPuy setting sonde knows',
    '[WebServer] webaddress: not a PuyPuy setting sonde knows',
  ]);
  const out: string[] = [];
  assert.equal(await checkSeedConfig(root, (s) => out.push(s)), 1);
  assert.match(out.join(''), /converts to a valid sonde config .*but not everything carries over:\n {2}not converted: \[SelfConfig\] error_handler/);
  // a config whose every key converts is fine
  const clean = mkdtempSync(join(tmpdir(), 'sonde-puypuy-'));
  t.after(() => rmSync(clean, { recursive: true, force: true }));
  write(clean, 'conf/config.ini', '[SelfConfig]\ncheck_period_seconds: 5\ncluster_name: c\n[TSDB]\ntsdtype: OpenTSDB\naddress: http://127.0.0.1:4242\ndatapoints: /api/put\nauth: False\n');
  write(clean, 'scripts_enabled/check_x.sh', SCRIPT, 0o755);
  const okOut: string[] = [];
  assert.equal(await checkSeedConfig(clean, (s) => okOut.push(s)), 0, okOut.join(''));
});

test('Python checks run unchanged: InfluxDB 2 API and the store get what the checks generated, with PuyPuy tags and rates; failures counted', { skip: !hasPython && 'python3 not installed', timeout: 90_000 }, async (t) => {
  const influx = await recordingHttp(t);
  const root = install(`address: ${influx.base}\ntsdtype: InfluxDB2\norganization: netangels\nbucket: metrics\ntoken: tok123`);
  const logDir = mkdtempSync(join(tmpdir(), 'sonde-puypuy-log-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });
  const m = migrate(root);
  const { agent, base } = await startMigrated(forAgent(m.config, logDir), t);

  // enough runs for three rates
  await waitUntil(() => generated(logDir).filter((g) => g.name === 'net_bytes_rx').length >= 3, 40_000, 'three rates');
  const gen = generated(logDir);
  const want = expectedKeys(gen);
  const lines = () =>
    influx.requests
      .filter((r) => r.method === 'POST' && r.url.startsWith('/api/v2/write?'))
      .flatMap((r) => r.body.split('\n').filter(Boolean));
  const received = () =>
    new Set(
      lines().map((l) => {
        // measurement,k=v,... value=<v> <ts ms>
        const m2 = /^([^, ]+),(\S+) value=([-0-9.e]+)i? (\d+)$/.exec(l);
        if (!m2) return `unparsed ${l}`;
        const tags = Object.fromEntries((m2[2] as string).split(',').map((kv) => kv.split('=') as [string, string]));
        return key(m2[1] as string, Number(m2[4]), Number(m2[3]), tags);
      }),
    );
  await waitUntil(() => want.every((w) => received().has(w)), 20_000, 'every generated point at InfluxDB');
  // the v2 API as InfluxDB 2 wants it
  const req = influx.requests.find((r) => r.url.startsWith('/api/v2/write?'));
  assert.ok(req);
  const q = new URL(req.url, 'http://x').searchParams;
  assert.equal(q.get('org'), 'netangels');
  assert.equal(q.get('bucket'), 'metrics');
  assert.equal(q.get('precision'), 'ms');
  assert.equal(req.headers['authorization'], 'Token tok123');
  assert.match(String(req.headers['content-type']), /^text\/plain/);
  const checkNames = new Set(['cpu_user', 'cpu_nice', 'cpu_system', 'cpu_idle', 'sys_load_1', 'net_bytes_rx', 'stat_lines', 'never_sent']);
  const fromChecks = [...received()].filter((r) => checkNames.has(r.split(' ')[0] as string));
  assert.deepEqual(new Set(gen.map((g) => g.name)), new Set(['cpu_user', 'cpu_nice', 'cpu_system', 'cpu_idle', 'sys_load_1', 'net_bytes_rx', 'stat_lines']));
  // nothing but what the checks generated (later runs included; fail's gen_data before it raised is not sent)
  const later = new Set(expectedKeys(generated(logDir)));
  assert.deepEqual(fromChecks.filter((r) => !later.has(r)), []);
  assert.ok(!fromChecks.some((r) => r.startsWith('never_sent')));
  // first sample of the rate gives no point (PuyPuy sent 0.0)
  const firstCounterTs = Number(readFileSync(join(logDir, 'counter.log'), 'utf8').split(' ')[0]) * 1000;
  assert.ok(!fromChecks.some((r) => r.startsWith(`net_bytes_rx ${firstCounterTs} `)));
  // the bash script under scripts_enabled runs too
  assert.ok(lines().some((l) => l.startsWith('bash_value,') && / value=42 /.test(l)));

  // the store has the same points
  let stored = new Set<string>();
  await waitUntil(async () => {
    stored = new Set((await storedPoints(agent, '*')).filter((p) => checkNames.has(p.name)).map((p) => key(p.name, p.ts, p.value, p.tags)));
    return want.every((w) => stored.has(w));
  }, 20_000, 'every generated point in the store');
  for (const w of want) assert.ok(stored.has(w), `stored: ${w}`);

  // the failing check and the Python 2 one are counted, the runner went on
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const counterOf = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 'NaN');
  assert.ok(counterOf(/sonde_check_errors(?:_total)?\{[^}]*check="check_fail"[^}]*stage="run"[^}]*\} (\d+)/) >= 2, metrics.split('\n').filter((l) => l.includes('check_')).join('\n'));
  assert.equal(counterOf(/sonde_check_errors(?:_total)?\{[^}]*check="check_py2"[^}]*stage="python2"[^}]*\} (\d+)/), 1);
  assert.ok(counterOf(/sonde_check_runs(?:_total)?\{[^}]*check="check_cpu"[^}]*\} (\d+)/) >= 3);
});

test('tsdtype Prometheus: /metrics on [WebServer] webaddress serves what the checks generated', { skip: !hasPython && 'python3 not installed', timeout: 40_000 }, async (t) => {
  const port = await freePort();
  const root = install('tsdtype: Prometheus', `webserver: yes\nwebaddress: 127.0.0.1:${port}\n`);
  const logDir = mkdtempSync(join(tmpdir(), 'sonde-puypuy-log-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });
  const m = migrate(root, { noStore: true });
  assert.deepEqual((m.config['outputs'] as TomlTable)['prometheus'], [{ listen: `127.0.0.1:${port}`, path: '/metrics' }]);
  await startMigrated(forAgent(m.config, logDir), t);
  let text = '';
  await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
    text = res ? await res.text() : '';
    const g = generated(logDir).filter((x) => x.name === 'sys_load_1');
    return g.length > 0 && text.includes('sys_load_1{');
  }, 20_000, 'sys_load_1 scraped');
  const sample = /^sys_load_1\{([^}]*)\} ([-0-9.e]+)/m.exec(text);
  assert.ok(sample, text);
  const labels = Object.fromEntries([...(sample[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  assert.deepEqual(labels, { ...TAGS, type: 'system_testing' });
  assert.equal(Number(sample[2]), 0.42);
});
