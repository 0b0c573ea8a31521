/**
 * The services whose status interfaces the service collectors read (redis, memcached, nginx, apache2,
 * haproxy), started from their Debian packages for integration tests: each in the foreground on
 * 127.0.0.1 with free ports, in its own temp dir, stopped by `stop()`. See servers.ts for the runner.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, RunningServer, started } from './servers.js';

/** A temp dir; readable by all, since servers started as root serve files as nobody. */
function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sonde-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** True once something accepts connections on the port or socket path. */
export function canConnect(target: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : connect({ path: target });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.text();
  return res.status === 200;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A self-signed certificate for 127.0.0.1 / localhost (openssl), as file paths. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert, key };
}

// ---------------------------------------------------------------------------------------------------
// redis-server

export interface RedisOptions {
  /** requirepass (the default user's password). */
  readonly password?: string;
  /** An ACL user with a password and every permission, or only `+info` when `infoOnly`. */
  readonly aclUser?: { readonly name: string; readonly password: string; readonly infoOnly?: boolean };
  /** Also listen on a unix socket (`socket`). */
  readonly unixSocket?: boolean;
  /** Also listen with TLS on `ports.tls`; the certificate is `cert`. */
  readonly tls?: boolean;
  /** With tls: clients must present a certificate signed by `cert` (itself, with `key`, will do). */
  readonly tlsClientCerts?: boolean;
}

export type RedisServer = RunningServer & { port: number; socket: string; cert: string; key: string };

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = tempDir('redis');
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : 0;
  const socket = join(dir, 'redis.sock');
  const lines = ['bind 127.0.0.1', `port ${port}`, `dir ${dir}`, 'save ""', 'appendonly no', 'daemonize no', 'loglevel notice', 'logfile ""'];
  if (opts.password !== undefined) lines.push(`requirepass ${opts.password}`);
  if (opts.aclUser) lines.push(`user ${opts.aclUser.name} on >${opts.aclUser.password} ${opts.aclUser.infoOnly ? '-@all +info +ping' : '~* &* +@all'}`);
  if (opts.unixSocket) lines.push(`unixsocket ${socket}`, 'unixsocketperm 700');
  let cert = '';
  let key = '';
  if (opts.tls) {
    ({ cert, key } = selfSignedCert(dir));
    lines.push(`tls-port ${tlsPort}`, `tls-cert-file ${cert}`, `tls-key-file ${key}`, `tls-ca-cert-file ${cert}`, `tls-auth-clients ${opts.tlsClientCerts ? 'yes' : 'no'}`);
  }
  writeFileSync(join(dir, 'redis.conf'), lines.join('\n') + '\n');
  const s = new RunningServer(
    {
      name: 'redis-server',
      bin: 'redis-server',
      args: [join(dir, 'redis.conf')],
      ready: async (out) => out.includes('Ready to accept connections') && (await canConnect(port)),
    },
    dir,
    { redis: port, tls: tlsPort },
  );
  await started(s);
  return Object.assign(s, { port, socket, cert, key });
}

/** Runs redis-cli against the server (extra args first, e.g. ['-a', 'pw']); returns stdout. */
export function redisCli(port: number, args: readonly string[], auth: readonly string[] = []): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...auth, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------
// memcached

export type MemcachedServer = RunningServer & { port: number; socket: string };

/** `memcached` on TCP `port`, or (unix: true) only on the unix socket `socket` (memcached serves one or the other). */
export async function startMemcached(opts: { unix?: boolean; authUser?: string } = {}): Promise<MemcachedServer> {
  const dir = tempDir('memcached');
  const port = opts.unix ? 0 : await freePort();
  const socket = join(dir, 'memcached.sock');
  const args = ['-m', '16', '-t', '2', '-U', '0'];
  if (isRoot) args.push('-u', userInfo().username);
  if (opts.authUser !== undefined) {
    writeFileSync(join(dir, 'auth'), `${opts.authUser}\n`);
    args.push('-Y', join(dir, 'auth'));
  }
  if (opts.unix) args.push('-s', socket, '-a', '700');
  else args.push('-l', '127.0.0.1', '-p', String(port));
  const s = new RunningServer({ name: 'memcached', bin: 'memcached', args, ready: () => canConnect(opts.unix ? socket : port) }, dir, { memcached: port });
  // memcached takes a second to exit on SIGTERM and keeps nothing on disk: kill it
  const kill = s.kill.bind(s);
  s.kill = (signal: NodeJS.Signals = 'SIGKILL') => kill(signal);
  await started(s);
  return Object.assign(s, { port, socket });
}

// ---------------------------------------------------------------------------------------------------
// nginx

export type NginxServer = RunningServer & { port: number; url: string; statusUrl: string; httpsUrl: string; cert: string };

/**
 * `nginx` (daemon off) with `stub_status` at /status, and at /secure behind basic auth (user `monitor`,
 * password `m0n`), `return 200` at /, and 404 elsewhere; with `tls`, stub_status also at `httpsUrl`
 * (self-signed `cert`).
 */
export async function startNginx(opts: { tls?: boolean } = {}): Promise<NginxServer> {
  const dir = tempDir('nginx');
  const tlsPort = opts.tls ? await freePort() : 0;
  const { cert, key } = opts.tls ? selfSignedCert(dir) : { cert: '', key: '' };
  const tlsServer = opts.tls
    ? `  server {\n    listen 127.0.0.1:${tlsPort} ssl;\n    ssl_certificate ${cert};\n    ssl_certificate_key ${key};\n    location = /status { stub_status; }\n  }\n`
    : '';
  writeFileSync(join(dir, 'htpasswd'), 'monitor:{PLAIN}m0n\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 128; }
http {
  access_log off;
${temp}
  server {
    listen 127.0.0.1:${port};
    location = /status { stub_status; }
    location = /secure { stub_status; auth_basic "status"; auth_basic_user_file ${dir}/htpasswd; }
    location = / { return 200 "ok\\n"; }
  }
${tlsServer}}
`,
  );
  mkdirSync(join(dir, 'logs'));
  const s = new RunningServer(
    { name: 'nginx', bin: 'nginx', args: ['-p', dir, '-c', join(dir, 'nginx.conf')], ready: () => httpOk(`${url}/status`) },
    dir,
    { http: port },
  );
  await started(s);
  return Object.assign(s, { port, url, statusUrl: `${url}/status`, httpsUrl: opts.tls ? `https://127.0.0.1:${tlsPort}/status` : '', cert });
}

// ---------------------------------------------------------------------------------------------------
// apache2

export type ApacheServer = RunningServer & { port: number; url: string; statusUrl: string };

/**
 * `apache2 -X` (one process, event MPM) with mod_status at /server-status, and at /secure-status behind
 * basic auth (user `monitor`, password `m0n`), and a 100 kB file at /big.bin.
 */
export async function startApache(): Promise<ApacheServer> {
  const dir = tempDir('apache');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mods = '/usr/lib/apache2/modules';
  writeFileSync(
    join(dir, 'httpd.conf'),
    [
      `ServerRoot ${dir}`,
      `DefaultRuntimeDir ${dir}`,
      `LoadModule mpm_event_module ${mods}/mod_mpm_event.so`,
      `LoadModule authz_core_module ${mods}/mod_authz_core.so`,
      `LoadModule status_module ${mods}/mod_status.so`,
      `LoadModule auth_basic_module ${mods}/mod_auth_basic.so`,
      `LoadModule authn_core_module ${mods}/mod_authn_core.so`,
      `LoadModule authn_file_module ${mods}/mod_authn_file.so`,
      `LoadModule authz_user_module ${mods}/mod_authz_user.so`,
      'ServerName 127.0.0.1',
      `Listen 127.0.0.1:${port}`,
      `PidFile ${dir}/httpd.pid`,
      `ErrorLog ${dir}/error.log`,
      'LogLevel warn',
      `DocumentRoot ${dir}/htdocs`,
      'ExtendedStatus On',
      ...(isRoot ? ['User nobody', 'Group nogroup'] : []),
      '<Location /server-status>\n  SetHandler server-status\n</Location>',
      `<Location /secure-status>\n  SetHandler server-status\n  AuthType Basic\n  AuthName status\n  AuthUserFile ${dir}/htpasswd\n  Require valid-user\n</Location>`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'htpasswd'), `monitor:{SHA}${createHash('sha1').update('m0n').digest('base64')}\n`);
  mkdirSync(join(dir, 'htdocs'));
  writeFileSync(join(dir, 'htdocs', 'big.bin'), Buffer.alloc(100_000, 120));
  writeFileSync(join(dir, 'htdocs', 'index.html'), 'ok\n');
  const s = new RunningServer(
    { name: 'apache2', bin: 'apache2', args: ['-X', '-f', join(dir, 'httpd.conf')], ready: () => httpOk(`${url}/server-status?auto`) },
    dir,
    { http: port },
  );
  await started(s);
  return Object.assign(s, { port, url, statusUrl: `${url}/server-status` });
}

// ---------------------------------------------------------------------------------------------------
// haproxy

export type HaproxyServer = RunningServer & { statsUrl: string; socket: string; frontendUrl: string };

/**
 * `haproxy -db` with stats over HTTP (`statsUrl`) and on the stats socket (`socket`), a frontend `web`
 * (`frontendUrl`) and a backend `app` with server `s1` at `backendPort` (health-checked) and `s2` on a
 * closed port (DOWN). `statsAuth` (`user:password`) protects the stats page.
 */
export async function startHaproxy(backendPort: number, opts: { statsAuth?: string } = {}): Promise<HaproxyServer> {
  const dir = tempDir('haproxy');
  const stats = await freePort();
  const web = await freePort();
  const closed = await freePort();
  const socket = join(dir, 'admin.sock');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  stats socket ${socket} mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend stats
  bind 127.0.0.1:${stats}
  stats enable
  stats uri /stats
${opts.statsAuth !== undefined ? `  stats auth ${opts.statsAuth}\n` : ''}frontend web
  bind 127.0.0.1:${web}
  default_backend app
backend app
  balance first
  option httpchk GET /
  server s1 127.0.0.1:${backendPort} check inter 300ms
  server s2 127.0.0.1:${closed} check inter 300ms
`,
  );
  const statsUrl = `http://127.0.0.1:${stats}/stats`;
  const s = new RunningServer(
    {
      name: 'haproxy',
      bin: 'haproxy',
      args: ['-db', '-f', join(dir, 'haproxy.cfg')],
      ready: async () => existsSync(socket) && (await canConnect(stats)),
    },
    dir,
    { stats, web },
  );
  await started(s);
  return Object.assign(s, { statsUrl, socket, frontendUrl: `http://127.0.0.1:${web}/` });
}
