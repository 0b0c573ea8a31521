/**
 * The `net` collector: traffic, error and drop counters per network interface from /proc/net/dev.
 */
import { join } from 'node:path';
import { z } from 'zod/v3';
import { defineInput } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { HostFiles, guarded, nameFilter, num, tagValue } from './common.js';

export interface NetDevStats {
  iface: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * Parses /proc/net/dev. The name ends at the first `:` (interface names cannot contain one), and the
 * kernel may print a large counter right after it with no blank (`eth0:12345678901 ...`).
 */
export function parseNetDev(text: string): { ifaces: NetDevStats[]; errors: string[] } {
  const ifaces: NetDevStats[] = [];
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    // The two header lines contain `|` and no colon.
    if (colon < 0) {
      if (line.trim().length > 0 && !line.includes('|')) errors.push('no interface name: ' + line.slice(0, 80));
      continue;
    }
    const iface = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/);
    const v: number[] = [];
    for (let i = 0; i < 16; i++) {
      const n = num(f[i]);
      if (n === undefined || n < 0) break;
      v.push(n);
    }
    if (iface.length === 0 || v.length < 16) {
      errors.push('bad interface line: ' + line.slice(0, 80));
      continue;
    }
    const at = (i: number): number => v[i] as number;
    ifaces.push({
      iface,
      rxBytes: at(0),
      rxPackets: at(1),
      rxErrors: at(2),
      rxDropped: at(3),
      txBytes: at(8),
      txPackets: at(9),
      txErrors: at(10),
      txDropped: at(11),
    });
  }
  return { ifaces, errors };
}

export function netPoints(s: NetDevStats, ts: number): Point[] {
  const tags = { iface: tagValue(s.iface) };
  const c = (name: string, v: number): Point => point(name, v, ts, 'counter', tags);
  return [
    c('net.rx_bytes', s.rxBytes),
    c('net.tx_bytes', s.txBytes),
    c('net.rx_packets', s.rxPackets),
    c('net.tx_packets', s.txPackets),
    c('net.rx_errors', s.rxErrors),
    c('net.tx_errors', s.txErrors),
    c('net.rx_dropped', s.rxDropped),
    c('net.tx_dropped', s.txDropped),
  ];
}

const schema = z.object({
  interfaces: z.array(z.string()).default([]).describe('Only these interfaces (globs, e.g. "eth*"); empty means all, lo included'),
  ignore_interfaces: z.array(z.string()).default([]).describe('Interfaces to skip (globs, e.g. ["lo", "veth*"])'),
});

export default defineInput({
  name: 'net',
  description: 'Network interface traffic, error and drop counters (/proc/net/dev)',
  schema,
  defaultEnabled: true,
  create(config, ctx) {
    const files = new HostFiles(ctx);
    const path = join(ctx.paths.proc, 'net', 'dev');
    const wanted = nameFilter(config.interfaces, config.ignore_interfaces);
    return {
      gather: guarded(ctx, async (now) => {
        const text = await files.text(path);
        if (text === undefined) return [];
        const parsed = parseNetDev(text);
        files.malformed(path, parsed.errors);
        const out: Point[] = [];
        for (const s of parsed.ifaces) {
          if (!wanted(s.iface)) continue;
          for (const p of netPoints(s, now)) out.push(p);
        }
        return out;
      }),
    };
  },
});
