/**
 * The `diskio` collector: I/O counters per block device (whole disks and partitions) from
 * /proc/diskstats.
 */
import { z } from 'zod/v3';
import { point, type Point } from '../../model/point.js';
import { columns, counterFields, defineHostInput, eachRow, nameFilter, tagValue } from './common.js';

/** /proc/diskstats always counts 512-byte sectors, whatever the device's real sector size. */
export const SECTOR_BYTES = 512;

/** The counters of a /proc/diskstats row after `major minor name`, by column. */
const DISKSTATS_COLUMNS = {
  reads: 0,
  mergedReads: 1,
  sectorsRead: 2,
  readTimeMs: 3,
  writes: 4,
  mergedWrites: 5,
  sectorsWritten: 6,
  writeTimeMs: 7,
  inProgress: 8,
  ioTimeMs: 9,
  weightedIoTimeMs: 10,
} as const;

export type DiskStats = { device: string } & Record<keyof typeof DISKSTATS_COLUMNS, number>;

/**
 * Parses /proc/diskstats: `major minor name` then 11 counters (kernels >= 4.18 add 4 discard fields,
 * >= 5.5 two flush fields, which are ignored here).
 */
export function parseDiskstats(text: string): { disks: DiskStats[]; errors: string[] } {
  const disks: DiskStats[] = [];
  const errors = eachRow(text, (line) => {
    const f = line.trim().split(/\s+/);
    const v = counterFields(f, 3, 11);
    if (v === undefined) return 'short diskstats line: ' + line.slice(0, 80);
    disks.push({ device: f[2] as string, ...columns(v, DISKSTATS_COLUMNS) });
    return undefined;
  });
  return { disks, errors };
}

/** The points of one device. */
export function diskioPoints(d: DiskStats, ts: number): Point[] {
  const tags = { device: tagValue(d.device) };
  const c = (name: string, v: number): Point => point(name, v, ts, 'counter', tags);
  return [
    c('diskio.reads', d.reads),
    c('diskio.writes', d.writes),
    c('diskio.read_bytes', d.sectorsRead * SECTOR_BYTES),
    c('diskio.write_bytes', d.sectorsWritten * SECTOR_BYTES),
    c('diskio.read_time', d.readTimeMs),
    c('diskio.write_time', d.writeTimeMs),
    c('diskio.io_time', d.ioTimeMs),
    c('diskio.weighted_io_time', d.weightedIoTimeMs),
    point('diskio.iops_in_progress', d.inProgress, ts, 'gauge', tags),
    c('diskio.merged_reads', d.mergedReads),
    c('diskio.merged_writes', d.mergedWrites),
  ];
}

const schema = z.object({
  devices: z.array(z.string()).default([]).describe('Only these devices (globs, e.g. "sd*"); empty means all'),
  ignore_devices: z
    .array(z.string())
    .default(['loop*', 'ram*'])
    .describe('Devices to skip (globs); loop and ram disks by default'),
});

export default defineHostInput({
  name: 'diskio',
  description: 'Block device I/O counters: operations, bytes, time (/proc/diskstats)',
  schema,
  create(config, { files, proc }) {
    const path = proc('diskstats');
    const wanted = nameFilter(config.devices, config.ignore_devices);
    return async (now) => {
      const parsed = await files.parse(path, parseDiskstats);
      return parsed ? parsed.disks.filter((d) => wanted(d.device)).flatMap((d) => diskioPoints(d, now)) : [];
    };
  },
});
