import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod/v3';
import { defineOutput } from '../core/plugin.js';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';

/**
 * Writes points as text to stdout or a file, for debugging and piping. Formats: `text`
 * (`name{tags} value ts`), `json` (one object per line).
 */
function formatText(p: Point): string {
  return `${seriesKey(p.name, p.tags)} ${p.value} ${p.ts}`;
}
function formatJson(p: Point): string {
  return JSON.stringify({ name: p.name, tags: p.tags, value: p.value, ts: p.ts, kind: p.kind });
}

export default defineOutput({
  name: 'stdout',
  description: 'Prints points to stdout or appends them to a file (text or JSON lines).',
  deliveryDefaults: { disk_queue: false },
  schema: z.strictObject({
    format: z.enum(['text', 'json']).default('text').describe('Line format.'),
    file: z.string().default('').describe('Append to this file instead of stdout.'),
  }),
  create(config, ctx) {
    const fmt = config.format === 'json' ? formatJson : formatText;
    let stream: WriteStream | NodeJS.WriteStream = process.stdout;
    return {
      async start() {
        if (config.file) stream = createWriteStream(resolve(ctx.baseDir, config.file), { flags: 'a' });
      },
      write(points) {
        let s = '';
        for (const p of points) s += fmt(p) + '\n';
        return new Promise((done) => {
          stream.write(s, (err) => done(err ? { ok: false, retryable: true, error: err.message } : { ok: true }));
        });
      },
      async stop() {
        if (stream !== process.stdout) await new Promise<void>((r) => (stream as WriteStream).end(() => r()));
      },
      describe: () => [config.file ? resolve(ctx.baseDir, config.file) : 'stdout'],
    };
  },
});
