import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { builtinRegistry } from '../../src/plugins.js';
import { referenceBlocks, updateBlocks } from '../../src/config/reference.js';
import { ROOT } from '../helpers/spawn.js';

const readme = readFileSync(`${ROOT}/README.md`, 'utf8');

test('the README starts with the two commands', () => {
  const run = readme.indexOf('npm install && npx sonde run');
  const tst = readme.indexOf('npm install && npm test');
  assert.ok(run > 0 && tst > run, 'install+run, then install+test');
  assert.ok(run < 1500, 'near the top');
});

test('the config reference in the README matches the schemas (run `npm run docs`)', async () => {
  const blocks = referenceBlocks(await builtinRegistry());
  const { text, found, unknown } = updateBlocks(readme, blocks);
  assert.deepEqual(unknown, [], 'README has blocks for names no schema has');
  assert.deepEqual([...blocks.keys()].filter((k) => !found.has(k)), [], 'every plugin and section has a block');
  assert.equal(text, readme, 'README blocks are up to date: run `npm run docs`');
});

test('every plugin has its own README section', async () => {
  const r = await builtinRegistry();
  for (const kind of ['input', 'processor', 'output'] as const) {
    for (const s of r.list(kind)) assert.match(readme, new RegExp(`#### \`${s.name}\`|### \`${s.name}\``), `${kind} ${s.name}`);
  }
});

test('every local link in the README points at a file that exists', () => {
  for (const m of readme.matchAll(/\]\(((?:docs|examples)\/[^)#\s]+)(?:#[^)]*)?\)/g)) {
    assert.ok(existsSync(`${ROOT}/${m[1]}`), `${m[1]} exists`);
  }
});

// ---- every code block of the README is executed ----------------------------------------------------
//
// Blocks run in README order in one temporary directory, against an agent this test starts (interval
// 1 s, its own ports and data dir). The addresses the README shows are the defaults; the test puts its
// own ports in their place (statsd 8125, collectd 25826, the API 8470) and points the CLI at its agent
// with SONDE_LISTEN. How each kind of block runs:
// - sh: each command (`&&`, `;` and newlines separate them; `#` starts a comment): `sonde ...` and
//   `npx sonde ...` run the CLI from source and must exit 0 (`sonde run` without --test is started,
//   waited for until its banner, and stopped with SIGTERM); `npm install` is not run here but the lock
//   file must match package.json (name, version: `npm ci` then leaves it alone); `npm test` is this
//   suite, so its script must exist. Any other command fails the test until it is taught here.
// - toml: validated by the same function `sonde run` uses.
// - ini: the `sonde instrument` config, written as the tach.conf the sh block before it names, with the
//   modules it names; the instrumented call must reach the agent.
// - js: run as a module with `sonde/client` mapped to the source; a `// the agent stores: a, b{k=v}`
//   comment lists series the agent must then have.
// - no language, starting with `$ CMD`: a transcript; CMD runs on the fixture below and its output must
//   be the block's. The code-layout block: every path it lists exists. Other plain blocks are output
//   samples (log lines), not code.
// - nginx, apache: snippets for those servers' configs; `nginx -t` / `apache2 -t` must accept them.
// Any other language fails the test until it is taught here.

interface Block {
  lang: string;
  body: string;
  line: number;
}

function readmeBlocks(text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\S*)\s*$/.exec(lines[i] as string);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string);
    out.push({ lang: m[1] ?? '', body: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** Splits a shell command line into words ('...' and "..." quotes; no expansions needed here). */
function words(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (cur || any) out.push(cur);
  return out;
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch as string;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1] as string))) return line.slice(0, i);
  }
  return line;
}

/** The config the transcript block (`$ sonde config check sonde.toml`) is the output of. */
const TRANSCRIPT_FIXTURE = `[agent]
interval = "10s"
log_levl = "debug"

[[inputs.cpu]]
percpu = false
# statsd on another port
[[inputs.statsd]]
udp = "127.0.0.1:99999"
`;

/** What the ini block's sections name: the module with the method, the helper, and an app calling it. */
const INSTRUMENT_FIXTURES: Record<string, string> = {
  'lib/orders.js': `class Orders {\n  list(customer) {\n    return [{ customer, id: 1 }];\n  }\n}\nmodule.exports = { Orders };\n`,
  'tach_helper.js': `exports.orderKey = function (customer) {\n  return [[customer], 'api.orders.list.' + customer];\n};\n`,
  'app.js': `const { Orders } = require('./lib/orders.js');\nconst o = new Orders();\nfor (let i = 0; i < 3; i++) o.list('acme');\n`,
  'package.json': '{ "type": "commonjs" }\n',
};

test('every README code block runs and shows what it does', { timeout: 240_000 }, async (t) => {
  const { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, dirname } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const { spawnSync } = await import('node:child_process');
  const { createSocket } = await import('node:dgram');
  const { loadConfig } = await import('../../src/config/load.js');
  const { exited, freePort, sondeSpawn, sondeSync, waitFor, TSX } = await import('../helpers/spawn.js');

  const dir = mkdtempSync(join(tmpdir(), 'sonde-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cwd = join(dir, 'work');
  mkdirSync(cwd);
  // from the source tree `sonde instrument` preloads tsx by name: let the app's directory find it
  symlinkSync(`${ROOT}/node_modules`, join(cwd, 'node_modules'));
  const httpPort = await freePort();
  const statsdPort = await new Promise<number>((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const collectd = createSocket('udp4');
  const collectdGot: Buffer[] = [];
  collectd.on('message', (m) => collectdGot.push(m));
  await new Promise<void>((r) => collectd.bind(0, '127.0.0.1', () => r()));
  t.after(() => collectd.close());
  const collectdPort = collectd.address().port;

  const agentCfg = join(dir, 'agent.toml');
  writeFileSync(
    agentCfg,
    `[agent]\ninterval = "1s"\nflush_interval = "1s"\ndata_dir = "${join(dir, 'agent-data')}"\n[http]\nlisten = "127.0.0.1:${httpPort}"\n[[inputs.statsd]]\nudp = "127.0.0.1:${statsdPort}"\nflush_interval = "1s"\n`,
  );
  const agent = sondeSpawn(['run', '-c', agentCfg]);
  t.after(() => agent.child.kill('SIGKILL'));
  await waitFor(() => agent.out.stdout.includes('stop with Ctrl-C'), 30_000, 'the test agent');
  const api = `http://127.0.0.1:${httpPort}/`;
  const env = { SONDE_LISTEN: `127.0.0.1:${httpPort}`, SONDE_CONFIG: '', SONDE_DATA_DIR: '' };
  const hasSeries = async (name: string, tags: Record<string, string> = {}): Promise<boolean> => {
    const u = new URL('api/v1/series', api);
    u.searchParams.set('name', name);
    for (const [k, v] of Object.entries(tags)) u.searchParams.append('tag', `${k}=${v}`);
    const r = (await (await fetch(u)).json()) as { series?: unknown[] } | unknown[];
    const list = Array.isArray(r) ? r : (r.series ?? []);
    return list.length > 0;
  };
  await waitFor(() => hasSeries('cpu.usage'), 30_000, 'cpu.usage in the test agent');

  const local = (s: string): string =>
    s
      .replace(/127\.0\.0\.1:8125\b/g, `127.0.0.1:${statsdPort}`)
      .replace(/\bport(\s*[:=]\s*)8125\b/g, `port$1${statsdPort}`)
      .replace(/\b25826\b/g, String(collectdPort))
      .replace(/127\.0\.0\.1:8470\b/g, `127.0.0.1:${httpPort}`);

  const blocks = readmeBlocks(readme);
  const ini = blocks.filter((b) => b.lang === 'ini');
  assert.ok(ini.length <= 1, 'one sonde instrument config in the README');
  if (ini[0]) {
    writeFileSync(join(cwd, 'tach.conf'), local(ini[0].body) + '\n');
    for (const [f, text] of Object.entries(INSTRUMENT_FIXTURES)) {
      mkdirSync(dirname(join(cwd, f)), { recursive: true });
      writeFileSync(join(cwd, f), text);
    }
  }
  const registry = await builtinRegistry();
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { name: string; version: string; scripts: Record<string, string> };
  const ran: string[] = [];

  const runCommand = async (cmdLine: string, where: string): Promise<void> => {
    let argv = words(local(cmdLine));
    while (argv[0] && /^[A-Z_]+=/.test(argv[0])) argv = argv.slice(1); // env assignments: none needed
    const [cmd, ...rest] = argv;
    if (cmd === 'npm' && rest[0] === 'install' && rest.length === 1) {
      const lock = JSON.parse(readFileSync(`${ROOT}/package-lock.json`, 'utf8')) as { name: string; version: string; packages: Record<string, { name?: string; version?: string }> };
      assert.equal(lock.name, pkg.name, `${where}: package-lock.json name`);
      assert.equal(lock.version, pkg.version, `${where}: package-lock.json version`);
      assert.equal(lock.packages['']?.version, pkg.version, `${where}: package-lock.json root package version`);
      return;
    }
    if (cmd === 'npm' && rest[0] === 'test') {
      assert.ok(pkg.scripts['test'], `${where}: npm test has a script`);
      return;
    }
    let args: string[];
    if (cmd === 'sonde') args = rest;
    else if (cmd === 'npx' && rest[0] === 'sonde') args = rest.slice(1);
    else return assert.fail(`${where}: no way to run \`${cmdLine}\`; teach test/docs/readme.test.ts`);
    ran.push(args.join(' '));
    if (args[0] === 'run' && !args.includes('--test')) {
      const port = await freePort();
      const p = sondeSpawn(args, { cwd, env: { ...env, SONDE_LISTEN: `127.0.0.1:${port}`, SONDE_DATA_DIR: join(dir, `run-${port}`) } });
      try {
        await waitFor(() => p.out.stdout.includes('stop with Ctrl-C') || p.child.exitCode !== null, 30_000, `${where}: the banner of \`${cmdLine}\``);
        assert.match(p.out.stdout, /stop with Ctrl-C/, `${where}: ${p.out.stderr}`);
        p.child.kill('SIGTERM');
        assert.equal(await exited(p.child), 0, `${where}: stops cleanly: ${p.out.stderr}`);
      } finally {
        p.child.kill('SIGKILL');
      }
      return;
    }
    const r = sondeSync(args, { cwd, env });
    assert.equal(r.status, 0, `${where}: \`${cmdLine}\` exits 0\n${r.stderr}`);
  };

  for (const b of blocks) {
    const where = `README.md:${b.line}`;
    if (b.lang === 'sh') {
      for (const raw of b.body.split('\n')) {
        const line = stripComment(raw).trim();
        if (!line) continue;
        for (const cmd of line.split(/&&|;/).map((c) => c.trim()).filter(Boolean)) await runCommand(cmd, where);
      }
    } else if (b.lang === 'toml') {
      assert.doesNotThrow(() => loadConfig({ text: b.body, file: where, registry }), where);
    } else if (b.lang === 'ini') {
      // written as tach.conf above; the sh block naming it ran `sonde instrument` with it
      assert.ok(ran.some((r) => r.startsWith('instrument tach.conf')), `${where}: a README command runs this config`);
      await waitFor(() => hasSeries('api.orders.list.acme.count'), 15_000, `${where}: the instrumented calls in the agent`);
    } else if (b.lang === 'js') {
      const file = join(cwd, `block-${b.line}.mjs`);
      const client = pathToFileURL(`${ROOT}/src/client/index.ts`).href;
      writeFileSync(file, local(b.body).replace(/from 'sonde\/client'/g, `from '${client}'`));
      const r = spawnSync(process.execPath, ['--import', TSX, file], { cwd, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${where}: runs\n${r.stderr}`);
      const stores = /\/\/ the agent stores: (.*)/.exec(b.body);
      for (const item of stores?.[1]?.split(/,\s*/) ?? []) {
        const m = /^([\w.]+)(?:\{([^}]*)\})?$/.exec(item.trim());
        assert.ok(m, `${where}: series ${item}`);
        const tags = Object.fromEntries((m[2] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
        await waitFor(() => hasSeries(m[1] as string, tags), 15_000, `${where}: ${item} in the agent`);
      }
      if (b.body.includes('db.query')) assert.equal(await hasSeries('db.query.count.count'), false, 'no doubled .count');
      if (b.body.includes('collectdPort')) await waitFor(() => collectdGot.length > 0, 5_000, `${where}: a collectd packet`);
    } else if (b.lang === '' && b.body.startsWith('$ ')) {
      const [first, ...expected] = b.body.split('\n');
      const tdir = join(dir, `transcript-${b.line}`);
      mkdirSync(tdir);
      writeFileSync(join(tdir, 'sonde.toml'), TRANSCRIPT_FIXTURE);
      const argv = words((first as string).slice(2));
      assert.equal(argv[0], 'sonde', `${where}: a sonde command`);
      const r = sondeSync(argv.slice(1), { cwd: tdir, env });
      assert.equal((r.stdout + r.stderr).trimEnd(), expected.join('\n').trimEnd(), `${where}: the output shown`);
    } else if (b.lang === '' && b.body.startsWith('src/')) {
      let under = '';
      for (const l of b.body.split('\n')) {
        const m = /^(\s*)(\S+)\s/.exec(l + ' ');
        if (!m || !/\/$|\.ts$/.test(m[2] as string)) continue;
        if ((m[1] as string).length === 0) under = '';
        const path = (m[1] as string).length > 0 ? `src/${m[2]}` : (m[2] as string);
        assert.ok(existsSync(`${ROOT}/${path}`), `${where}: ${path} exists`);
        if ((m[1] as string).length === 0 && m[2] === 'src/') under = 'src/';
      }
      void under;
    } else if (b.lang === '') {
      // an output sample (log lines, a listing): shown, not run
    } else if (b.lang === 'nginx' || b.lang === 'apache') {
      // a snippet for the service's own config: its own syntax check must accept it
      const sdir = join(dir, `${b.lang}-${b.line}`);
      mkdirSync(sdir);
      const conf = join(sdir, 'test.conf');
      if (b.lang === 'nginx') {
        writeFileSync(conf, `pid ${sdir}/nginx.pid;\nerror_log ${sdir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  server {\n    listen 127.0.0.1:1;\n${b.body}\n  }\n}\n`);
        const r = spawnSync('/usr/sbin/nginx', ['-t', '-q', '-p', sdir, '-c', conf], { encoding: 'utf8', timeout: 10_000 });
        if (r.error) t.diagnostic(`${where}: nginx not installed (apt-get install nginx-light); snippet not checked`);
        else assert.equal(r.status, 0, `${where}: nginx -t accepts it\n${r.stderr}`);
      } else {
        const mods = '/usr/lib/apache2/modules';
        writeFileSync(
          conf,
          `ServerRoot ${sdir}\nPidFile ${sdir}/httpd.pid\nListen 127.0.0.1:1\nLoadModule mpm_event_module ${mods}/mod_mpm_event.so\nLoadModule authz_core_module ${mods}/mod_authz_core.so\nLoadModule authz_host_module ${mods}/mod_authz_host.so\nLoadModule status_module ${mods}/mod_status.so\nErrorLog ${sdir}/error.log\n${b.body}\n`,
        );
        const r = spawnSync('/usr/sbin/apache2', ['-t', '-f', conf], { encoding: 'utf8', timeout: 10_000 });
        if (r.error) t.diagnostic(`${where}: apache2 not installed (apt-get install apache2); snippet not checked`);
        else assert.equal(r.status, 0, `${where}: apache2 -t accepts it\n${r.stderr}`);
      }
    } else {
      assert.fail(`${where}: a \`${b.lang || 'plain'}\` block this test does not know how to run; teach test/docs/readme.test.ts`);
    }
  }
  agent.child.kill('SIGTERM');
  assert.equal(await exited(agent.child), 0, agent.out.stderr);
});
