/**
 * The `disk` collector: space and inodes per mounted filesystem, from the mount table
 * (/proc/self/mounts) and statfs(2). A statfs that hangs (dead NFS server) is abandoned after a timeout
 * and that mount is skipped until the call finally returns, so one stuck mount never stalls the agent.
 */
import { statfs as fsStatfs } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { type Input, type PluginContext } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { zDuration } from '../../model/quantities.js';
import { defineHostInput, eachRow, errorMessage, hostContext, hostInput, nameFilter, tagValue, type HostContext, type HostGather } from './common.js';

export interface Mount {
  device: string;
  mountPoint: string;
  fstype: string;
}

/** The kernel writes space, tab, newline and backslash in mount fields as `\ooo` octal escapes. */
export function unescapeMountField(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-3][0-7]{2})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}

/** Parses /proc/self/mounts (`device mountpoint fstype options dump pass`). */
export function parseMounts(text: string): { mounts: Mount[]; errors: string[] } {
  const mounts: Mount[] = [];
  const errors = eachRow(text, (line) => {
    const f = line.trim().split(/[ \t]+/);
    if (f.length < 3) return 'short mount line: ' + line.slice(0, 80);
    const mountPoint = unescapeMountField(f[1] as string);
    if (!mountPoint.startsWith('/')) return 'mount point is not absolute: ' + line.slice(0, 80);
    mounts.push({ device: unescapeMountField(f[0] as string), mountPoint, fstype: unescapeMountField(f[2] as string) });
    return undefined;
  });
  return { mounts, errors };
}

/** What the collector needs of statfs(2); Node's `fs.promises.statfs` returns a superset. */
export interface StatFsLike {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}
export type StatfsFn = (path: string) => Promise<StatFsLike>;

/**
 * Space and inode points of one filesystem. `used` counts blocks not free to anyone, `free` what
 * unprivileged users may still write, so `used_percent` (of used + free, as df prints it) reaches 100
 * when ordinary users can write no more, even though root's reserve remains.
 */
export function diskPoints(s: StatFsLike, tags: Record<string, string>, ts: number): Point[] {
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  const used = Math.max(0, s.blocks - s.bfree) * s.bsize;
  const out = [
    point('disk.total', total, ts, 'gauge', tags),
    point('disk.free', free, ts, 'gauge', tags),
    point('disk.used', used, ts, 'gauge', tags),
    point('disk.used_percent', used + free > 0 ? (used / (used + free)) * 100 : 0, ts, 'gauge', tags),
  ];
  // Some filesystems (vfat, btrfs on some kernels) report no inode counts at all.
  if (s.files > 0) {
    out.push(
      point('disk.inodes_total', s.files, ts, 'gauge', tags),
      point('disk.inodes_free', s.ffree, ts, 'gauge', tags),
      point('disk.inodes_used', Math.max(0, s.files - s.ffree), ts, 'gauge', tags),
    );
  }
  return out;
}

/** Pseudo and read-only image filesystems that carry no disk space worth watching. */
export const DEFAULT_IGNORE_FS = [
  'tmpfs',
  'devtmpfs',
  'devfs',
  'devpts',
  'iso9660',
  'overlay',
  'aufs',
  'squashfs',
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'securityfs',
  'pstore',
  'debugfs',
  'tracefs',
  'configfs',
  'fusectl',
  'mqueue',
  'hugetlbfs',
  'bpf',
  'binfmt_misc',
  'autofs',
  'rpc_pipefs',
  'nsfs',
  'efivarfs',
  'selinuxfs',
  'ramfs',
];

const schema = z.object({
  mount_points: z
    .array(z.string())
    .default([])
    .describe('Only these mount points (globs allowed); empty means every mount not ignored'),
  ignore_mount_points: z.array(z.string()).default([]).describe('Mount points to skip (globs allowed)'),
  ignore_fs: z.array(z.string()).default(DEFAULT_IGNORE_FS).describe('Filesystem types to skip'),
  timeout: zDuration()
    .default('5s')
    .describe('How long one statfs may take before its mount is treated as stuck and skipped'),
});
export type DiskConfig = z.output<typeof schema>;

const TIMED_OUT = Symbol('timeout');

/** The collector with an injectable statfs, so tests can simulate stuck and failing mounts. */
export function createDisk(config: DiskConfig, ctx: PluginContext, statfs: StatfsFn = fsStatfs): Input {
  return hostInput(ctx, diskGather(config, hostContext(ctx), statfs));
}

function diskGather(config: DiskConfig, ctx: HostContext, statfs: StatfsFn = fsStatfs): HostGather {
  const { files } = ctx;
  const mountsPath = ctx.proc('self', 'mounts');
  const wanted = nameFilter(config.mount_points, config.ignore_mount_points);
  const ignoreFs = new Set(config.ignore_fs);
  const timeouts = ctx.metrics.counter('statfs_timeouts', {}, 'statfs calls abandoned after the timeout');
  const statErrors = ctx.metrics.counter('statfs_errors', {}, 'statfs calls that failed');
  const stuckGauge = ctx.metrics.gauge('stuck_mounts', {}, 'Mounts skipped because an earlier statfs has not returned');
  // Mount point -> its pending statfs call. Entries leave when that call settles.
  const stuck = new Map<string, Promise<unknown>>();
  const loggedErrors = new Set<string>();

  const statOne = async (m: Mount): Promise<StatFsLike | undefined> => {
    const path = join(ctx.paths.root, m.mountPoint);
    let timer: NodeJS.Timeout | undefined;
    const call = statfs(path);
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), config.timeout);
    });
    try {
      const r = await Promise.race([call, timeout]);
      if (r !== TIMED_OUT) {
        loggedErrors.delete(m.mountPoint);
        return r;
      }
      timeouts.inc();
      const settled = call.then(
        () => undefined,
        () => undefined,
      );
      stuck.set(m.mountPoint, settled);
      stuckGauge.set(stuck.size);
      ctx.logger.warn('statfs timed out; skipping mount until it returns', {
        mount: m.mountPoint,
        timeout_ms: config.timeout,
      });
      void settled.then(() => {
        stuck.delete(m.mountPoint);
        stuckGauge.set(stuck.size);
        ctx.logger.info('statfs returned; mount is collected again', { mount: m.mountPoint });
      });
      return undefined;
    } catch (err) {
      statErrors.inc();
      // A mount that fails (permission, vanished) keeps failing; say so once until it recovers.
      if (!loggedErrors.has(m.mountPoint)) {
        loggedErrors.add(m.mountPoint);
        ctx.logger.debug('statfs failed', { mount: m.mountPoint, error: errorMessage(err) });
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  return async (now) => {
    const parsed = await files.parse(mountsPath, parseMounts);
    if (parsed === undefined) return [];
    // A later mount on the same point hides the earlier one; keep the visible one.
    const byPoint = new Map<string, Mount>();
    for (const m of parsed.mounts) {
      byPoint.delete(m.mountPoint);
      byPoint.set(m.mountPoint, m);
    }
    const live = [...byPoint.values()].filter(
      (m) => !ignoreFs.has(m.fstype) && wanted(m.mountPoint) && !stuck.has(m.mountPoint),
    );
    const results = await Promise.all(live.map(statOne));
    const out: Point[] = [];
    live.forEach((m, i) => {
      const s = results[i];
      // Zero blocks: a pseudo filesystem not in ignore_fs; it has no space to report.
      if (!s || !(s.blocks > 0)) return;
      const device = m.device.startsWith('/dev/') ? m.device.slice(5) : m.device;
      const tags = { mount: tagValue(m.mountPoint), device: tagValue(device), fstype: tagValue(m.fstype) };
      for (const p of diskPoints(s, tags, now)) out.push(p);
    });
    return out;
  };
}

export default defineHostInput({
  name: 'disk',
  description: 'Space and inodes per mounted filesystem (/proc/self/mounts, statfs)',
  schema,
  create: (config, ctx) => diskGather(config, ctx),
});
