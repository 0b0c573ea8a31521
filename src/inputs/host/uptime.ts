/**
 * The `uptime` collector: seconds since boot (/proc/uptime) and the boot time (`btime` of /proc/stat).
 * Logged-in users are not reported: that needs utmp, which is not under /proc.
 */
import { point, type Point } from '../../model/point.js';
import { defineHostInput, num } from './common.js';
import { parseProcStat } from './cpu.js';

/** Seconds since boot: the first number of /proc/uptime (`557.83 979.85`). */
export function parseUptime(text: string): number | undefined {
  const t = text.trimStart();
  const sp = t.search(/\s/);
  const v = num(sp < 0 ? t : t.slice(0, sp));
  return v !== undefined && v >= 0 ? v : undefined;
}

export default defineHostInput({
  name: 'uptime',
  description: 'System uptime and boot time in seconds (/proc/uptime, /proc/stat)',
  async gather(now, { files, proc }) {
    const uptimePath = proc('uptime');
    // btime is re-read every gather: the kernel derives it from the wall clock, which can be stepped.
    const [u, s] = await Promise.all([files.text(uptimePath), files.text(proc('stat'))]);
    const out: Point[] = [];
    if (u !== undefined) {
      const up = parseUptime(u);
      if (up === undefined) files.malformed(uptimePath, ['unexpected uptime: ' + u.slice(0, 80)]);
      else out.push(point('system.uptime', up, now));
    }
    const btime = s === undefined ? undefined : parseProcStat(s).btime;
    if (btime !== undefined) out.push(point('system.boot_time', btime, now));
    return out;
  },
});
