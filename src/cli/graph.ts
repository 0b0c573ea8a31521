/** `sonde graph`: renders a query as an SVG or PNG chart (file, or SVG on stdout). */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from './args.js';
import { resolveConfig } from './resolve.js';
import { QUERY_FLAGS, pointsCutWarning, queryFromFlags, runQuery } from './query.js';
import { renderChart } from '../graph/index.js';
import { stepFor } from '../graph/ticks.js';
import { SondeError } from '../errors.js';
import { commonUnit, unitOfQuery } from '../model/units.js';

export const GRAPH_HELP = `Usage: sonde graph NAME_GLOB [options] -o FILE

Renders a chart of a query to SVG or PNG (chosen by the extension of -o; "-o -" writes SVG to stdout).

Options:
  -o, --output FILE     chart file (.svg or .png), or - for SVG on stdout (default -)
      --format FMT      svg or png (overrides the extension)
  -t, --tag K=V         tag filter (repeatable); V may be a glob, a|b, or !x
  -s, --since DUR       window ending now (default 1h)
      --start TIME      start: epoch ms/s, ISO date or relative (-2h)
      --end TIME        end (default now)
      --step DUR        bucket width (default: about one bucket per 2 pixels)
  -a, --agg AGG         avg, min, max, sum, count, last, first, rate (default avg)
  -g, --group-by KEYS   combine series by these tag keys ("" = all into one)
      --group-agg AGG   avg, min, max, sum, count
      --limit N         at most N series (default 20)
      --title TEXT      chart title (default: the query)
      --width PX        default 800;  --height PX  default 400
      --theme T         light (default) or dark
      --url URL         agent API base URL (default from config [http] listen)
  -c, --config FILE     config file;  -d, --data-dir DIR  data directory
`;

export async function graphCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('graph', argv, {
    output: { type: 'string', short: 'o' },
    format: { type: 'string' },
    ...QUERY_FLAGS,
    title: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    theme: { type: 'string' },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(GRAPH_HELP);
    return values.help ? 0 : 2;
  }
  const out = values.output ?? '-';
  const ext = extname(out).slice(1).toLowerCase();
  const format = (values.format ?? (out === '-' ? 'svg' : ext)).toLowerCase();
  if (format !== 'svg' && format !== 'png') {
    throw new SondeError('SONDE_ERR_USAGE', `graph: cannot tell the format of ${JSON.stringify(out)}`, 'name the file .svg or .png, or pass --format');
  }
  if (format === 'png' && out === '-' && process.stdout.isTTY) {
    throw new SondeError('SONDE_ERR_USAGE', 'graph: refusing to write PNG bytes to a terminal', 'pass -o FILE.png');
  }
  const size = (v: string | undefined, def: number, what: string): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 200 || n > 8000) throw new SondeError('SONDE_ERR_USAGE', `graph: bad ${what} ${JSON.stringify(v)}`, 'pixels, 200 to 8000');
    return n;
  };
  const width = size(values.width, 800, 'width');
  const height = size(values.height, 400, 'height');
  const theme = values.theme ?? 'light';
  if (theme !== 'light' && theme !== 'dark') throw new SondeError('SONDE_ERR_USAGE', `graph: bad theme ${JSON.stringify(theme)}`, 'light or dark');

  const cfg = await resolveConfig({ config: values.config, dataDir: values['data-dir'] });
  const q = queryFromFlags('graph', positionals[0], values, '20');
  // a chart never needs more than about one bucket per two pixels, and never buckets finer than the
  // collection interval: most would be empty, and a short window (--since 5m) would draw dots, not lines
  q.step ??= stepFor(q.start, q.end, Math.round(width / 2), Math.max(1000, cfg.agent.interval));
  const result = await runQuery(cfg, q, values.url);
  if (result.series.length === 0) {
    throw new SondeError(
      'SONDE_ERR_NO_DATA',
      `graph: nothing matches ${q.name}${q.tags ? ' ' + Object.entries(q.tags).map(([k, v]) => `${k}=${v}`).join(' ') : ''} between ${new Date(q.start).toISOString()} and ${new Date(q.end).toISOString()}`,
      'check the name with `sonde query NAME --since 1h` (globs: cpu.*), the tags, and the time range',
    );
  }
  const unit = commonUnit(result.series.map((s) => unitOfQuery(s.name, q.agg))) ?? '';
  // `truncated` below counts series only; points cut by the raw point cap get their own warning
  const cut = pointsCutWarning(result);
  if (cut) process.stderr.write(cut + '\n');
  const tagText = q.tags ? ' ' + Object.entries(q.tags).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  const body = renderChart(result, format, {
    width,
    height,
    theme,
    title: values.title ?? `${q.name}${tagText}`,
    start: q.start,
    end: q.end,
    tzOffsetMs: -new Date().getTimezoneOffset() * 60_000,
    unit,
  });
  if (out === '-') process.stdout.write(body);
  else {
    writeFileSync(out, body);
    process.stderr.write(`wrote ${out} (${result.series.length} series${result.truncated ? ', more matched: raise --limit' : ''})\n`);
  }
  return 0;
}
