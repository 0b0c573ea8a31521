/**
 * The `kernel` collector: open file handles against the system limit (/proc/sys/fs/file-nr) and the
 * sockets in use by protocol (/proc/net/sockstat, sockstat6): the resources that run out quietly.
 */
import { point } from '../../model/point.js';
import type { Point } from '../../model/point.js';
import { defineHostInput, lines, num, readHostFile } from './common.js';

/** `1667\t0\t2466097`: allocated handles, free allocated ones (0 since 2.6), the maximum. */
export function parseFileNr(text: string): { allocated: number; max: number } | { error: string } {
  const f = text.trim().split(/\s+/);
  const allocated = num(f[0]);
  const unused = num(f[1]);
  const max = num(f[2]);
  if (allocated === undefined || unused === undefined || max === undefined) return { error: 'unexpected file-nr: ' + text.slice(0, 80) };
  return { allocated: allocated - unused, max };
}

/**
 * `sockets: used 90` / `TCP: inuse 9 orphan 0 tw 23 alloc 9 mem 58` / `UDP: inuse 2 mem 0` ...:
 * protocol -> field -> value, protocols lower-cased (`tcp`, `udp`, `tcp6`).
 */
export function parseSockstat(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const l of lines(text)) {
    const colon = l.indexOf(':');
    if (colon <= 0) continue;
    const proto = l.slice(0, colon).trim().toLowerCase();
    const f = l.slice(colon + 1).trim().split(/\s+/);
    const m = out.get(proto) ?? new Map<string, number>();
    for (let i = 0; i + 1 < f.length; i += 2) {
      const v = num(f[i + 1]);
      if (v !== undefined) m.set(f[i] as string, v);
    }
    out.set(proto, m);
  }
  return out;
}

const SOCKET_FIELDS: ReadonlyArray<readonly [string, string, string]> = [
  ['sockets', 'used', 'sockets.used'],
  ['tcp', 'inuse', 'sockets.tcp_inuse'],
  ['tcp', 'orphan', 'sockets.tcp_orphan'],
  ['tcp', 'tw', 'sockets.tcp_time_wait'],
  ['tcp', 'mem', 'sockets.tcp_mem_pages'],
  ['udp', 'inuse', 'sockets.udp_inuse'],
  ['tcp6', 'inuse', 'sockets.tcp6_inuse'],
  ['udp6', 'inuse', 'sockets.udp6_inuse'],
];

export default defineHostInput({
  name: 'kernel',
  description: 'Open file handles against the system limit and sockets in use by protocol (/proc/sys/fs/file-nr, /proc/net/sockstat)',
  async gather(now, { files, proc }) {
    const fileNr = proc('sys', 'fs', 'file-nr');
    const out: Point[] = [];
    const fd = await files.text(fileNr);
    if (fd !== undefined) {
      const r = parseFileNr(fd);
      if ('error' in r) files.malformed(fileNr, [r.error]);
      else {
        out.push(point('fd.allocated', r.allocated, now), point('fd.max', r.max, now));
        if (r.max > 0) out.push(point('fd.used_percent', (r.allocated / r.max) * 100, now));
      }
    }
    const s4 = await files.text(proc('net', 'sockstat'));
    if (s4 !== undefined) {
      const m = parseSockstat(s4);
      // sockstat6 is absent without IPv6: not an error
      let s6: string | undefined;
      try {
        s6 = readHostFile(proc('net', 'sockstat6'));
      } catch {
        s6 = undefined;
      }
      if (s6 !== undefined) for (const [k, v] of parseSockstat(s6)) m.set(k, v);
      for (const [proto, field, name] of SOCKET_FIELDS) {
        const v = m.get(proto)?.get(field);
        if (v !== undefined) out.push(point(name, v, now));
      }
    }
    return out;
  },
});
