/**
 * The `diskio` collector: I/O counters per block device (whole disks and partitions) from
 * /proc/diskstats.
 */
import { join } from 'node:path';
import { z } from 'zod/v3';
import { defineInput } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { HostFiles, guarded, nameFilter, num, tagValue } from './common.js';

/** /proc/diskstats always counts 512-byte sectors, whatever the device's real sector size. */
export const SECTOR_BYTES = 512;

export interface DiskStats {
  device: string;
  reads: number;
  mergedReads: number;
  sectorsRead: number;
  readTimeMs: number;
  writes: number;
  mergedWrites: number;
  sectorsWritten: number;
  writeTimeMs: number;
  inProgress: number;
  ioTimeMs: number;
  weightedIoTimeMs: number;
}

/**
 * Parses /proc/diskstats: `major minor name` then 11 counters (kernels >= 4.18 add 4 discard fields,
 * >= 5.5 two flush fields, which are ignored here).
 */
export function parseDiskstats(text: string): { disks: DiskStats[]; errors: string[] } {
  const disks: DiskStats[] = [];
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const f = line.trim().split(/\s+/);
    const v: number[] = [];
    for (let i = 3; i < 14; i++) {
      const n = num(f[i]);
      if (n === undefined || n < 0) break;
      v.push(n);
    }
    if (v.length < 11) {
      errors.push('short diskstats line: ' + line.slice(0, 80));
      continue;
    }
    const at = (i: number): number => v[i] as number;
    disks.push({
      device: f[2] as string,
      reads: at(0),
      mergedReads: at(1),
      sectorsRead: at(2),
      readTimeMs: at(3),
      writes: at(4),
      mergedWrites: at(5),
      sectorsWritten: at(6),
      writeTimeMs: at(7),
      inProgress: at(8),
      ioTimeMs: at(9),
      weightedIoTimeMs: at(10),
    });
  }
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

export default defineInput({
  name: 'diskio',
  description: 'Block device I/O counters: operations, bytes, time (/proc/diskstats)',
  schema,
  defaultEnabled: true,
  create(config, ctx) {
    const files = new HostFiles(ctx);
    const path = join(ctx.paths.proc, 'diskstats');
    const wanted = nameFilter(config.devices, config.ignore_devices);
    return {
      gather: guarded(ctx, async (now) => {
        const text = await files.text(path);
        if (text === undefined) return [];
        const parsed = parseDiskstats(text);
        files.malformed(path, parsed.errors);
        const out: Point[] = [];
        for (const d of parsed.disks) {
          if (!wanted(d.device)) continue;
          for (const p of diskioPoints(d, now)) out.push(p);
        }
        return out;
      }),
    };
  },
});
