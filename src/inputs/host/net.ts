/**
 * The `net` collector: traffic, error and drop counters per network interface from /proc/net/dev.
 */
import { z } from 'zod/v3';
import { point, type Point } from '../../model/point.js';
import { columns, counterFields, defineHostInput, eachRow, nameFilter, tagValue } from './common.js';

/** The counters of a /proc/net/dev row after `name:` that are reported, by column (of 16). */
const NET_DEV_COLUMNS = {
  rxBytes: 0,
  rxPackets: 1,
  rxErrors: 2,
  rxDropped: 3,
  txBytes: 8,
  txPackets: 9,
  txErrors: 10,
  txDropped: 11,
} as const;

export type NetDevStats = { iface: string } & Record<keyof typeof NET_DEV_COLUMNS, number>;

/**
 * Parses /proc/net/dev. The name ends at the first `:` (interface names cannot contain one), and the
 * kernel may print a large counter right after it with no blank (`eth0:12345678901 ...`).
 */
export function parseNetDev(text: string): { ifaces: NetDevStats[]; errors: string[] } {
  const ifaces: NetDevStats[] = [];
  const errors = eachRow(text, (line) => {
    const colon = line.indexOf(':');
    // The two header lines contain `|` and no colon.
    if (colon < 0) return line.includes('|') ? undefined : 'no interface name: ' + line.slice(0, 80);
    const iface = line.slice(0, colon).trim();
    const v = counterFields(line.slice(colon + 1).trim().split(/\s+/), 0, 16);
    if (iface.length === 0 || v === undefined) return 'bad interface line: ' + line.slice(0, 80);
    ifaces.push({ iface, ...columns(v, NET_DEV_COLUMNS) });
    return undefined;
  });
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

export default defineHostInput({
  name: 'net',
  description: 'Network interface traffic, error and drop counters (/proc/net/dev)',
  schema,
  create(config, { files, proc }) {
    const path = proc('net', 'dev');
    const wanted = nameFilter(config.interfaces, config.ignore_interfaces);
    return async (now) => {
      const parsed = await files.parse(path, parseNetDev);
      return parsed ? parsed.ifaces.filter((s) => wanted(s.iface)).flatMap((s) => netPoints(s, now)) : [];
    };
  },
});
