/**
 * Kernel-side UDP drops of a socket: the `drops` column of /proc/net/udp and /proc/net/udp6 for the
 * sockets bound to a local port. These are datagrams the kernel discarded because the receive buffer
 * was full, which no user-space counter can see.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Sums `drops` over the rows of a /proc/net/udp table whose local port is `port`. */
export function parseUdpDrops(table: string, port: number): number | undefined {
  let total: number | undefined;
  const lines = table.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  // Columns after `tm->when` shift the header by one relative to the rows; `drops` is the last one.
  if (!header.includes('drops')) return undefined;
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).trim().split(/\s+/);
    if (f.length < 3) continue;
    const local = f[1] ?? '';
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    if (parseInt(local.slice(colon + 1), 16) !== port) continue;
    const drops = Number(f[f.length - 1]);
    if (Number.isFinite(drops)) total = (total ?? 0) + drops;
  }
  return total;
}

/** Drops of the sockets on `port`, IPv4 and IPv6 together; undefined when /proc is not readable. */
export async function readUdpDrops(port: number, procRoot = '/proc'): Promise<number | undefined> {
  let total: number | undefined;
  for (const f of ['udp', 'udp6']) {
    let text: string;
    try {
      text = await readFile(join(procRoot, 'net', f), 'utf8');
    } catch {
      continue;
    }
    const d = parseUdpDrops(text, port);
    if (d !== undefined) total = (total ?? 0) + d;
  }
  return total;
}
