/**
 * The `netstat` collector: TCP connections by state and UDP socket counts from the socket tables
 * (/proc/net/tcp, tcp6, udp, udp6), and TCP/UDP protocol counters from /proc/net/snmp and
 * /proc/net/netstat. Socket tables can hold hundreds of thousands of lines on a busy server, so they
 * are scanned as bytes in fixed chunks: only the state column is decoded and no string is built.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { point, type Point } from '../../model/point.js';
import { defineHostInput } from './common.js';

/** Kernel TCP states by number (include/net/tcp_states.h). */
export const TCP_STATES: readonly (string | undefined)[] = [
  undefined,
  'established',
  'syn_sent',
  'syn_recv',
  'fin_wait1',
  'fin_wait2',
  'time_wait',
  'close',
  'close_wait',
  'last_ack',
  'listen',
  'closing',
  'new_syn_recv',
];

const NL = 10;
const SPACE = 32;
const TAB = 9;

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Counts the rows of a socket table by their `st` column (the 4th field), fed in chunks of bytes that
 * may split a line anywhere. The first line is the header.
 */
export class SocketTableCounter {
  /** Rows per state number (0..255). */
  readonly states = new Float64Array(256);
  /** Rows counted. */
  rows = 0;
  /** Rows whose state column was missing or not a hex byte. */
  malformed = 0;
  private line = 0;
  private field = 0;
  private inField = false;
  private sawText = false;
  private acc = 0;
  private digits = 0;
  private bad = false;

  push(buf: Uint8Array, len: number = buf.length): void {
    for (let i = 0; i < len; i++) {
      const c = buf[i] as number;
      if (c === NL) this.endLine();
      else if (c === SPACE || c === TAB) {
        if (this.inField) {
          this.inField = false;
          this.field++;
        }
      } else {
        this.inField = true;
        this.sawText = true;
        if (this.field === 3) {
          const d = hexDigit(c);
          if (d < 0 || this.digits >= 2) this.bad = true;
          else {
            this.acc = this.acc * 16 + d;
            this.digits++;
          }
        }
      }
    }
  }

  /** Finishes a last line that had no newline. */
  end(): void {
    if (this.sawText) this.endLine();
  }

  private endLine(): void {
    if (this.line > 0 && this.sawText) {
      if (this.digits > 0 && !this.bad) {
        this.states[this.acc] = (this.states[this.acc] as number) + 1;
        this.rows++;
      } else this.malformed++;
    }
    this.line++;
    this.field = 0;
    this.inField = false;
    this.sawText = false;
    this.acc = 0;
    this.digits = 0;
    this.bad = false;
  }
}

/**
 * Parses the `Proto: Name Name ...` / `Proto: 1 2 ...` line pairs of /proc/net/snmp and
 * /proc/net/netstat into proto -> name -> value.
 */
export function parseSnmp(text: string): { protos: Map<string, Map<string, number>>; errors: string[] } {
  const protos = new Map<string, Map<string, number>>();
  const errors: string[] = [];
  const headers = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      errors.push('no protocol: ' + line.slice(0, 80));
      continue;
    }
    const proto = line.slice(0, colon);
    const f = line.slice(colon + 1).trim().split(/\s+/);
    const numeric = f.every((x) => /^-?\d+$/.test(x));
    if (!numeric) {
      headers.set(proto, f);
      continue;
    }
    const names = headers.get(proto);
    if (!names || names.length !== f.length) {
      errors.push('values without matching header: ' + proto);
      continue;
    }
    headers.delete(proto);
    let m = protos.get(proto);
    if (!m) protos.set(proto, (m = new Map()));
    for (let i = 0; i < f.length; i++) {
      const v = Number(f[i]);
      // Hundreds of digits would parse to Infinity; such a value is garbage, not a count.
      if (Number.isFinite(v)) m.set(names[i] as string, v);
      else errors.push(`value out of range: ${proto} ${names[i] as string}`);
    }
  }
  return { protos, errors };
}

/** Protocol counters reported: [proto, kernel name, metric name, kind]. */
const SNMP_FIELDS: readonly [string, string, string, 'counter' | 'gauge'][] = [
  ['Tcp', 'ActiveOpens', 'netstat.tcp_active_opens', 'counter'],
  ['Tcp', 'PassiveOpens', 'netstat.tcp_passive_opens', 'counter'],
  ['Tcp', 'AttemptFails', 'netstat.tcp_attempt_fails', 'counter'],
  ['Tcp', 'EstabResets', 'netstat.tcp_estab_resets', 'counter'],
  ['Tcp', 'CurrEstab', 'netstat.tcp_curr_estab', 'gauge'],
  ['Tcp', 'InSegs', 'netstat.tcp_in_segs', 'counter'],
  ['Tcp', 'OutSegs', 'netstat.tcp_out_segs', 'counter'],
  ['Tcp', 'RetransSegs', 'netstat.tcp_retrans_segs', 'counter'],
  ['Tcp', 'InErrs', 'netstat.tcp_in_errs', 'counter'],
  ['Tcp', 'OutRsts', 'netstat.tcp_out_rsts', 'counter'],
  ['Udp', 'InDatagrams', 'netstat.udp_in_datagrams', 'counter'],
  ['Udp', 'NoPorts', 'netstat.udp_no_ports', 'counter'],
  ['Udp', 'InErrors', 'netstat.udp_in_errors', 'counter'],
  ['Udp', 'OutDatagrams', 'netstat.udp_out_datagrams', 'counter'],
  ['Udp', 'RcvbufErrors', 'netstat.udp_rcvbuf_errors', 'counter'],
  ['Udp', 'SndbufErrors', 'netstat.udp_sndbuf_errors', 'counter'],
  ['TcpExt', 'ListenOverflows', 'netstat.tcp_listen_overflows', 'counter'],
  ['TcpExt', 'ListenDrops', 'netstat.tcp_listen_drops', 'counter'],
];

export function snmpPoints(protos: Map<string, Map<string, number>>, ts: number): Point[] {
  const out: Point[] = [];
  for (const [proto, key, name, kind] of SNMP_FIELDS) {
    const v = protos.get(proto)?.get(key);
    if (v !== undefined) out.push(point(name, v, ts, kind));
  }
  return out;
}

/** `netstat.tcp{state}` points from the summed state counts; every named state, zeros included. */
export function tcpStatePoints(states: Float64Array, ts: number): Point[] {
  const out: Point[] = [];
  TCP_STATES.forEach((name, i) => {
    if (name !== undefined) out.push(point('netstat.tcp', states[i] as number, ts, 'gauge', { state: name }));
  });
  return out;
}

const CHUNK = 64 * 1024;

export default defineHostInput({
  name: 'netstat',
  description: 'TCP connections by state, UDP sockets, TCP/UDP protocol counters (/proc/net)',
  create(_config, { files, proc }) {
    const net = proc('net');
    const tables = ['tcp', 'tcp6', 'udp', 'udp6'].map((t) => join(net, t));
    // Scan buffers are reused across gathers; a free list keeps parallel or overlapping scans apart.
    const spare: Buffer[] = [];
    const snmpPath = join(net, 'snmp');
    const netstatPath = join(net, 'netstat');

    const scan = async (path: string): Promise<SocketTableCounter | undefined> => {
      const counter = new SocketTableCounter();
      const buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
      let fh: Awaited<ReturnType<typeof open>> | undefined;
      try {
        fh = await open(path, 'r');
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          counter.push(buf, bytesRead);
        }
        counter.end();
        if (counter.malformed > 0) files.malformed(path, [`${counter.malformed} rows without a state`]);
        return counter;
      } catch (err) {
        files.failed(path, err);
        return undefined;
      } finally {
        await fh?.close().catch(() => undefined);
        spare.push(buf);
      }
    };

    return async (now) => {
      const [counts, snmp, netstat] = await Promise.all([
        Promise.all(tables.map(scan)),
        files.parse(snmpPath, parseSnmp),
        files.parse(netstatPath, parseSnmp),
      ]);
      const [tcp, tcp6, udp, udp6] = counts;
      const out: Point[] = [];
      if (tcp || tcp6) {
        const states = new Float64Array(256);
        for (const c of [tcp, tcp6]) if (c) for (let i = 0; i < 256; i++) states[i] = (states[i] as number) + (c.states[i] as number);
        for (const p of tcpStatePoints(states, now)) out.push(p);
      }
      if (udp || udp6) out.push(point('netstat.udp_sockets', (udp?.rows ?? 0) + (udp6?.rows ?? 0), now, 'gauge'));
      const protos = new Map<string, Map<string, number>>();
      for (const r of [snmp, netstat]) if (r) for (const [k, v] of r.protos) protos.set(k, v);
      for (const p of snmpPoints(protos, now)) out.push(p);
      return out;
    };
  },
});
