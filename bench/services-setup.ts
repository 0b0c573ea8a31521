/**
 * Real servers for the service collector benchmarks: PostgreSQL and MariaDB (test/helpers/sql-servers.ts),
 * and, where their collectors and test helpers are in this tree, redis, memcached, nginx, apache and
 * haproxy (test/helpers/status-servers.ts). Each runs on 127.0.0.1 with free ports in a temp dir; the
 * result is the config of each service input pointed at its server, and a stop() that ends them all.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinRegistry } from '../src/plugins.js';
import { ROOT } from '../test/helpers/spawn.js';
import { POSTGRES, MARIADBD, startMariadb, startPostgres } from '../test/helpers/sql-servers.js';

export const SERVICE_INPUTS = ['postgresql', 'mysql', 'procstat', 'redis', 'memcached', 'nginx', 'apache', 'haproxy'] as const;

export interface ServiceSetup {
  /** Input name -> its config (plain values), for the services that could be started. */
  configs: Map<string, Record<string, unknown>>;
  /** Why a service is missing. */
  skipped: Map<string, string>;
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): Promise<void>;
}

type Helpers = Record<string, ((...a: unknown[]) => Promise<Stoppable & Record<string, unknown>>) | undefined>;

/** Starts the servers of `only` (default: all of SERVICE_INPUTS). */
export async function startServices(only: readonly string[] = SERVICE_INPUTS): Promise<ServiceSetup> {
  const reg = await builtinRegistry();
  const configs = new Map<string, Record<string, unknown>>();
  const skipped = new Map<string, string>();
  const running: Stoppable[] = [];
  const known = (name: string): boolean => {
    if (!only.includes(name)) return false;
    if (reg.get('input', name)) return true;
    skipped.set(name, 'no such input in this tree');
    return false;
  };
  const attempt = async (name: string, f: () => Promise<void>): Promise<void> => {
    if (!known(name)) return;
    try {
      await f();
    } catch (err) {
      skipped.set(name, (err as Error).message.split('\n')[0] ?? 'failed to start');
    }
  };

  await attempt('postgresql', async () => {
    if (!existsSync(POSTGRES)) throw new Error('postgres not installed (apt-get install postgresql)');
    const pg = await startPostgres();
    running.push(pg);
    configs.set('postgresql', { servers: [pg.url()] });
  });
  await attempt('mysql', async () => {
    if (!existsSync(MARIADBD)) throw new Error('mariadbd not installed (apt-get install mariadb-server)');
    const my = await startMariadb();
    running.push(my);
    my.sql("CREATE USER 'sonde'@'%' IDENTIFIED BY 'bench-pw'; GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'sonde'@'%'");
    configs.set('mysql', { servers: [`mysql://sonde:bench-pw@127.0.0.1:${my.port}/`] });
  });
  if (known('procstat')) configs.set('procstat', { pattern: '^(postgres|/usr/lib/postgresql/.*/postgres|/usr/sbin/mariadbd|mariadbd)', name: 'databases' });

  const helperFile = join(ROOT, 'test', 'helpers', 'status-servers.ts');
  const helpers: Helpers | undefined = existsSync(helperFile) ? ((await import(pathToFileURL(helperFile).href)) as Helpers) : undefined;
  const fromHelper = async (name: string, fn: string, args: unknown[], config: (s: Record<string, unknown>) => Record<string, unknown>): Promise<void> =>
    attempt(name, async () => {
      const start = helpers?.[fn];
      if (!start) throw new Error(`no ${fn} in test/helpers/status-servers.ts`);
      const s = await start(...args);
      running.push(s);
      configs.set(name, config(s));
    });
  await fromHelper('redis', 'startRedis', [], (s) => ({ servers: [`127.0.0.1:${String(s['port'])}`] }));
  await fromHelper('memcached', 'startMemcached', [], (s) => ({ servers: [`127.0.0.1:${String(s['port'])}`] }));
  await fromHelper('nginx', 'startNginx', [], (s) => ({ urls: [String(s['statusUrl'])] }));
  await fromHelper('apache', 'startApache', [], (s) => ({ urls: [`${String(s['statusUrl'])}?auto`] }));
  const nginxPort = (configs.get('nginx')?.['urls'] as string[] | undefined)?.[0]?.match(/:(\d+)\//)?.[1];
  await fromHelper('haproxy', 'startHaproxy', [Number(nginxPort ?? 1)], (s) => ({ servers: [String(s['socket'])] }));

  return {
    configs,
    skipped,
    async stop() {
      await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
    },
  };
}

/** A plain config object as the body of a TOML table. */
export function tomlBody(config: Record<string, unknown>): string[] {
  const v = (x: unknown): string => (Array.isArray(x) ? `[${x.map(v).join(', ')}]` : typeof x === 'string' ? JSON.stringify(x) : String(x));
  return Object.entries(config).map(([k, x]) => `${k} = ${v(x)}`);
}
