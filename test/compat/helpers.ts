/**
 * Shared by the migration tests: an agent started in-process on a migrated config, a telnet `put`
 * listener standing in for a TSD, an HTTP server recording requests, and reading points back from the
 * embedded store.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Agent } from '../../src/agent.js';
import { toToml, type TomlTable } from '../../src/compat/toml.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { registryForConfig } from '../../src/plugins.js';
import { freePort } from '../helpers/spawn.js';
import { patience } from '../helpers/patience.js';

interface After {
  after: (fn: () => unknown) => void;
}

/** The migration tests run the old tools' own Python collectors; without python3 they skip. */
export const hasPython = spawnSync('python3', ['--version']).status === 0;

/** Writes `text` at `root`/`rel` (directories made as needed) with file mode `mode`. */
export function write(root: string, rel: string, text: string, mode = 0o644): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
}

/** Starts an agent on `config` (a migrated config object) with a temp data dir and a free HTTP port. */
export async function startMigrated(config: TomlTable, t: After, agentExtra: TomlTable = {}): Promise<{ agent: Agent; base: string; toml: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-migrated-'));
  const port = await freePort();
  const cfg = JSON.parse(JSON.stringify(config)) as TomlTable;
  cfg['agent'] = { ...((cfg['agent'] as TomlTable | undefined) ?? {}), data_dir: dir, flush_interval: '200ms', ...agentExtra };
  cfg['http'] = { listen: `127.0.0.1:${port}` };
  const toml = toToml(cfg);
  const loaded = loadConfig({ text: toml, file: 'migrated.toml', registry: await registryForConfig(toml) });
  const agent = new Agent(loaded, { logger: silentLogger, version: 'test' });
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await agent.start();
  return { agent, base: `http://127.0.0.1:${port}`, toml };
}

/** A TSD stand-in: records every `put` line received over TCP, answers `version`. */
export async function telnetTsd(t: After): Promise<{ port: number; puts: string[] }> {
  const puts: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith('put ')) puts.push(line.slice(4));
        else if (line === 'version') sock.write('net.opentsdb.tools test\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy(); // the agent's connection may still be open
        server.close(() => r());
      }),
  );
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, puts };
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP server recording every request (bodies gunzipped); `reply` picks the status. */
export async function recordingHttp(t: After, reply: (r: Recorded) => number = () => 204): Promise<{ base: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const r: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw.toString('utf8') };
      requests.push(r);
      const status = reply(r);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status >= 400 ? JSON.stringify({ code: 'invalid', message: 'refused by the test server' }) : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const addr = server.address();
  return { base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, requests };
}

/** Every stored point of the metrics matching `name` (a glob) in the last hour: `name tags ts value`. */
export async function storedPoints(agent: Agent, name: string): Promise<Array<{ name: string; tags: Record<string, string>; ts: number; value: number }>> {
  const store = agent.storeHandle;
  if (!store) throw new Error('no store');
  const now = Date.now();
  const r = await store.query({ name, start: now - 3_600_000, end: now + 60_000 });
  const out: Array<{ name: string; tags: Record<string, string>; ts: number; value: number }> = [];
  for (const s of r.series) {
    s.timestamps.forEach((ts, i) => {
      const v = s.values[i];
      if (v !== null && v !== undefined) out.push({ name: s.name, tags: { ...s.tags }, ts, value: v });
    });
  }
  return out;
}

/** Waits for `cond`; gives up after `timeoutMs` stretched by `patience` (loaded machines). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, detail?: () => string): Promise<void> {
  const end = Date.now() + patience(timeoutMs);
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (await cond()) return;
  throw new Error(`timed out waiting for ${what}${detail ? `: ${detail()}` : ''}`);
}
