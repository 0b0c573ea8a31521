/**
 * procstat on a fixture /proc + /sys tree (test/fixtures/host/procstat: an nginx master and worker in
 * a systemd unit's cgroup, a postgres process, a kernel thread, a vanished and a broken pid, a pid file
 * and an /etc/passwd), and on the real /proc with a child process of known command line, threads,
 * open files and I/O.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import procstat from '../../../src/inputs/procstat.js';
import { parseCmdline, parsePidList, parseProcIo, parseProcStat, parseProcStatus, uidOf } from '../../../src/codecs/procstat-proc.js';
import { FIXTURES, FUZZ_RUNS, HAS_PROC, assertSane, build, only, procLikeText, select, selfMetric, value } from './helpers.js';

const root = join(FIXTURES, 'procstat');
const paths = { proc: join(root, 'proc'), sys: join(root, 'sys'), root: join(root, 'root') };
const fixture = (config: Record<string, unknown>) => build(procstat, config, paths);

test('parseProcStat: fields counted from the last parenthesis', () => {
  const s = parseProcStat('42 (a (b) c) S 1 42 42 0 -1 4194560 1500 0 20 0 250 120 0 0 20 0 3 0 5000 58000000 1200 18446744073709551615 1 1');
  assert.deepEqual(s, { comm: 'a (b) c', state: 'S', ppid: 1, minorFaults: 1500, majorFaults: 20, utime: 250, stime: 120, threads: 3, starttime: 5000, vsize: 58000000, rssPages: 1200 });
  assert.equal(parseProcStat('1 (x) S 1 2 3'), undefined);
  assert.equal(parseProcStat('no parens'), undefined);
  assert.equal(parseProcStat('1 (x) S 1 1 1 0 -1 0 a 0 0 0 0 0 0 0 20 0 1 0 0 0 0'), undefined);
});

test('parseProcStatus, parseProcIo, cmdline, pid lists, passwd', () => {
  assert.deepEqual(parseProcStatus('Name:\tx\nUid:\t33\t33\t33\t33\nVmRSS:\t  8000 kB\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t1\n'), {
    uid: 33,
    vmRss: 8000 * 1024,
    voluntaryCtxtSwitches: 9,
    nonvoluntaryCtxtSwitches: 1,
  });
  assert.deepEqual(parseProcIo('rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\ncancelled_write_bytes: 7\n'), {
    rchar: 1,
    wchar: 2,
    syscr: 3,
    syscw: 4,
    readBytes: 5,
    writeBytes: 6,
    cancelledWriteBytes: 7,
  });
  assert.equal(parseProcIo('rchar: 1\n'), undefined);
  assert.equal(parseCmdline(Buffer.from('nginx\0-g\0daemon off;\0')), 'nginx -g daemon off;');
  assert.equal(parseCmdline(Buffer.alloc(0)), '');
  assert.deepEqual(parsePidList('12\n 13 \nx\n0\n-4\n'), [12, 13]);
  assert.equal(uidOf('root:x:0:0::/:/bin/sh\nwww-data:x:33:33::/:/bin/false\n', 'www-data'), 33);
  assert.equal(uidOf('root:x:0:0::/:/bin/sh\n', 'nobody'), undefined);
});

test('systemd unit: the processes of its cgroup and child cgroups, summed', async () => {
  const p = fixture({ systemd_unit: 'nginx.service' });
  const pts = await p.gather(1000);
  assert.equal(assertSane(pts, 1000), undefined);
  const tags = { process: 'nginx.service' };
  assert.equal(value(pts, 'procstat.count', tags), 2);
  assert.equal(value(pts, 'procstat.cpu_time_user', tags), (250 + 1000) / 100);
  assert.equal(value(pts, 'procstat.cpu_time_system', tags), (120 + 300) / 100);
  assert.equal(only(pts, 'procstat.cpu_time_user').kind, 'counter');
  assert.equal(value(pts, 'procstat.rss', tags), (4800 + 8000) * 1024);
  assert.equal(only(pts, 'procstat.rss').kind, 'gauge');
  assert.equal(value(pts, 'procstat.vms', tags), 58000000 + 60000000);
  assert.equal(value(pts, 'procstat.swap', tags), 256 * 1024);
  assert.equal(value(pts, 'procstat.threads', tags), 5);
  assert.equal(value(pts, 'procstat.fds', tags), 3 + 12);
  assert.equal(value(pts, 'procstat.minor_faults', tags), 2300);
  assert.equal(value(pts, 'procstat.major_faults', tags), 25);
  assert.equal(value(pts, 'procstat.voluntary_ctxt_switches', tags), 1000);
  assert.equal(value(pts, 'procstat.involuntary_ctxt_switches', tags), 47);
  assert.equal(value(pts, 'procstat.io_read_bytes', tags), 4096);
  assert.equal(value(pts, 'procstat.io_write_bytes', tags), 8192 + 12288);
  assert.equal(value(pts, 'procstat.io_rchar', tags), 51000);
  assert.equal(value(pts, 'procstat.io_syscw', tags), 720);
  // cpu usage needs two gathers
  assert.equal(select(pts, 'procstat.cpu_usage').length, 0);
  const again = await p.gather(11_000);
  assert.equal(value(again, 'procstat.cpu_usage', tags), 0);
  // a unit named without its suffix is a service
  assert.equal(value(await fixture({ systemd_unit: 'postgresql@15-main' }).gather(1), 'procstat.count'), 1);
});

test('pattern on the command line, exe on the name, user, pid file, per-pid series', async () => {
  assert.equal(value(await fixture({ pattern: 'nginx: worker' }).gather(1), 'procstat.count'), 1);
  assert.equal(value(await fixture({ pattern: '^nginx' }).gather(1), 'procstat.count'), 2);
  // kernel threads have no command line: the pattern sees their name
  assert.equal(value(await fixture({ pattern: '^kworker/' }).gather(1), 'procstat.count'), 1);
  assert.equal(value(await fixture({ exe: '^postgres$' }).gather(1), 'procstat.count'), 1);
  assert.equal(value(await fixture({ user: 'www-data' }).gather(1), 'procstat.count'), 1);
  assert.equal(value(await fixture({ user: '105' }).gather(1), 'procstat.count'), 1);
  // all selectors must hold: nginx processes of www-data
  const both = await fixture({ exe: 'nginx', user: 'www-data', name: 'nginx-workers' }).gather(1);
  assert.equal(value(both, 'procstat.count', { process: 'nginx-workers' }), 1);
  assert.equal(value(both, 'procstat.threads', { process: 'nginx-workers' }), 4);
  const pidFile = await fixture({ pid_file: join(root, 'run', 'nginx.pid'), name: 'nginx' }).gather(1);
  assert.equal(value(pidFile, 'procstat.count'), 1);
  assert.equal(value(pidFile, 'procstat.fds'), 3);
  const per = await fixture({ exe: 'nginx', per_pid: true }).gather(1);
  assert.equal(value(per, 'procstat.threads', { pid: '300' }), 1);
  assert.equal(value(per, 'procstat.threads', { pid: '301' }), 4);
  assert.equal(value(per, 'procstat.count', { process: 'nginx' }), 2);
});

test('nothing selected, a unit that is not running, broken and vanished pids', async () => {
  const none = fixture({ pattern: 'no-such-process' });
  const pts = await none.gather(1);
  assert.deepEqual(pts.map((x) => [x.name, x.value]), [['procstat.count', 0]]);
  // pid 304 vanished mid-read (no stat): not an error; 305 is garbage: one parse error
  assert.equal(selfMetric(none.ctx, 'gather_errors'), 0);
  assert.equal(selfMetric(none.ctx, 'parse_errors'), 1);
  const gone = fixture({ systemd_unit: 'missing.service' });
  assert.equal(value(await gone.gather(1), 'procstat.count'), 0);
  const unknownUser = fixture({ user: 'nobody-here' });
  assert.equal(value(await unknownUser.gather(1), 'procstat.count'), 0);
});

test('bad config fails at start', () => {
  assert.throws(() => fixture({}), /procstat needs a selection/);
  assert.throws(() => fixture({ pattern: '(' }), /pattern: not a valid regular expression/);
});

const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('real /proc: a child process with known threads, open files and writes', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-procstat-'));
  dirs.push(dir);
  const marker = `sonde-procstat-${process.pid}-${Date.now()}`;
  // the child opens 5 files, writes 1 MiB with fsync, burns 300 ms of cpu, then waits
  const script = `
    const fs = require('node:fs');
    const fds = [];
    for (let i = 0; i < 5; i++) fds.push(fs.openSync(${JSON.stringify(dir)} + '/f' + i, 'w'));
    fs.writeSync(fds[0], Buffer.alloc(1 << 20, 1)); fs.fsyncSync(fds[0]);
    // at least 300 ms of cpu time of its own, however busy the machine is
    for (let u = process.cpuUsage(); u.user + u.system < 300000; u = process.cpuUsage()) {}
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  const p = build(procstat, { pattern: marker, name: 'child' });
  const first = await p.gather(Date.now());
  assert.equal(assertSane(first, first[0]?.ts ?? 0), undefined);
  assert.equal(value(first, 'procstat.count', { process: 'child' }), 1);
  const st = parseProcStat(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8')));
  assert.equal(value(first, 'procstat.threads'), st?.threads);
  assert.ok((st?.threads ?? 0) >= 5, 'node runs several threads');
  // stdin (/dev/null), stdout pipe, stderr, the 5 files, plus node's own (epoll, eventfd, ...)
  const fds = (await import('node:fs')).readdirSync(`/proc/${child.pid}/fd`).length;
  assert.equal(value(first, 'procstat.fds'), fds);
  assert.ok(fds >= 8);
  assert.ok(value(first, 'procstat.rss') > 10 * 1024 * 1024, 'node resident memory');
  assert.ok(value(first, 'procstat.io_wchar') >= 1 << 20);
  assert.ok(value(first, 'procstat.cpu_time_user') + value(first, 'procstat.cpu_time_system') >= 0.2, 'the child used 300 ms of cpu');
  const second = await p.gather(Date.now() + 1000);
  const usage = value(second, 'procstat.cpu_usage');
  assert.ok(usage >= 0 && usage < 100, String(usage));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(value(await p.gather(Date.now() + 2000), 'procstat.count'), 0);
});

test('fuzz: the /proc parsers never throw', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const s = parseProcStat(text);
      parseProcStatus(text);
      parseProcIo(text);
      parsePidList(text);
      uidOf(text, 'root');
      parseCmdline(Buffer.from(text));
      return s === undefined || (Number.isFinite(s.utime) && Number.isFinite(s.threads));
    }),
    { numRuns: FUZZ_RUNS },
  );
});
