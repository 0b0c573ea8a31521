/**
 * monasca-monitor compatibility for the heartbeat input (`compat = "monasca-monitor"`), so the alarm
 * definitions and Prometheus rules written for monasca-monitor keep working when sonde replaces it:
 *
 * - the probe is `monascamonitor.heartbeat` with the dimension `hostname` (its metrics source), 1 on even
 *   minutes else 0;
 * - `POST /heartbeat` accepts any body (the Monasca webhook notification, or anything else), counts it in
 *   `monasca_monitor_heartbeat` and answers `Received: <body>` with the body HTML-escaped, as its
 *   heartbeat server did;
 * - `GET /metrics` on the heartbeat listener (monasca-monitor's `bind_host:bind_port`, default
 *   0.0.0.0:8000) serves that counter as prometheus_client did: `monasca_monitor_heartbeat_total` and
 *   `monasca_monitor_heartbeat_created` (client 0.4 and later), plus the bare `monasca_monitor_heartbeat`
 *   that older clients wrote, so rules written against either keep matching.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { parseHostPort } from '../../net/address.js';

export const MONASCA_MONITOR_METRIC = 'monascamonitor.heartbeat';
export const MONASCA_MONITOR_COUNTER = 'monasca_monitor_heartbeat';
/** monasca-monitor's heartbeat server: [heartbeat] bind_host/bind_port. */
export const MONASCA_MONITOR_LISTEN = '0.0.0.0:8000';

/** cgi.escape(s): &, < and > (quotes left alone). */
export function cgiEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The reply body to a heartbeat POST. */
export function receivedReply(body: Buffer): string {
  return `Received: ${cgiEscape(body.toString('utf8'))}\n`;
}

export class MonascaMonitorHeartbeat {
  private count = 0;
  private readonly created = Date.now() / 1000;
  private server: Server | undefined;
  bound: string | undefined;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
    /** Called for every POST, with its body. */
    private readonly onHeartbeat: (body: Buffer) => void,
  ) {}

  get value(): number {
    return this.count;
  }

  /** Counts a heartbeat and answers it; every body is accepted. */
  answer(res: ServerResponse, body: Buffer): void {
    this.count++;
    this.onHeartbeat(body);
    const text = receivedReply(body);
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  exposition(): string {
    const help = 'Monasca system level heartbeat';
    const n = this.count.toFixed(1);
    return [
      `# HELP ${MONASCA_MONITOR_COUNTER}_total ${help}`,
      `# TYPE ${MONASCA_MONITOR_COUNTER}_total counter`,
      `${MONASCA_MONITOR_COUNTER}_total ${n}`,
      `# HELP ${MONASCA_MONITOR_COUNTER}_created ${help}`,
      `# TYPE ${MONASCA_MONITOR_COUNTER}_created gauge`,
      `${MONASCA_MONITOR_COUNTER}_created ${this.created}`,
      `# HELP ${MONASCA_MONITOR_COUNTER} ${help} (name of prometheus_client before 0.4)`,
      `# TYPE ${MONASCA_MONITOR_COUNTER} untyped`,
      `${MONASCA_MONITOR_COUNTER} ${n}`,
      '',
    ].join('\n');
  }

  /** Starts the heartbeat listener; a bad address or a port in use is logged, the agent goes on. */
  async listen(address: string): Promise<void> {
    const hp = parseHostPort(/:\d+$/.test(address) ? address : `${address}:8000`, '0.0.0.0');
    if ('error' in hp) {
      this.logger.error('heartbeat: bad listen address; monasca-monitor\'s endpoints are only on the agent HTTP server', { listen: address, error: hp.error });
      return;
    }
    const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'POST' && path === this.path) {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 1 << 20) chunks.push(c);
        });
        req.on('end', () => this.answer(res, Buffer.concat(chunks)));
        req.on('error', () => res.destroy());
        return;
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        const text = this.exposition();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    await new Promise<void>((resolve) => {
      srv.once('error', (e) => {
        this.logger.error('heartbeat: cannot listen', { listen: address, error: e.message });
        resolve();
      });
      srv.listen(hp.port, hp.host, () => {
        const a = srv.address();
        if (a && typeof a === 'object') this.bound = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
        this.server = srv;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
