import { parse } from './args.js';
import type { MigrateOptions, SeedKind } from '../compat/migrate.js';
import { SondeError } from '../errors.js';

export const MIGRATE_HELP = `Usage: sonde migrate PATH [options] > sonde.toml

Prints the sonde TOML config equivalent to a PuyPuy config.ini (or its directory) or a tcollector
install/collectors directory, so you can move over for good. Review the notes at the top.

Options:
      --from KIND            puypuy or tcollector (default: detected from PATH)
      --host HOST            tcollector: TSD host (default: TSD_HOST from startstop, else localhost)
      --port PORT            tcollector: TSD port (default 4242)
      --dedup-interval SECS  tcollector: dedup interval, 0 = off (default 300)
      --dedup-only-zero      tcollector: only dedup zero values
      --tags K=V,K=V         tcollector: global tags
`;

export function migrateOptions(values: {
  from?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  'dedup-interval'?: string | undefined;
  'dedup-only-zero'?: boolean | undefined;
  tags?: string | undefined;
}): MigrateOptions {
  const opts: MigrateOptions = {};
  if (values.from !== undefined) {
    if (values.from !== 'puypuy' && values.from !== 'tcollector') {
      throw new SondeError('SONDE_ERR_USAGE', `--from must be puypuy or tcollector, not ${values.from}`);
    }
    opts.from = values.from as SeedKind;
  }
  if (values.host !== undefined) opts.host = values.host;
  if (values.port !== undefined) {
    const p = Number(values.port);
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new SondeError('SONDE_ERR_USAGE', `bad --port ${values.port}`);
    opts.port = p;
  }
  if (values['dedup-interval'] !== undefined) {
    const d = Number(values['dedup-interval']);
    if (!Number.isFinite(d) || d < 0) throw new SondeError('SONDE_ERR_USAGE', `bad --dedup-interval ${values['dedup-interval']} (seconds)`);
    opts.dedupInterval = d;
  }
  if (values['dedup-only-zero']) opts.dedupOnlyZero = true;
  if (values.tags !== undefined) {
    const tags: Record<string, string> = {};
    for (const kv of values.tags.split(',').filter(Boolean)) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new SondeError('SONDE_ERR_USAGE', `bad --tags entry ${kv} (write k=v,k2=v2)`);
      tags[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    opts.tags = tags;
  }
  return opts;
}

export const MIGRATE_FLAGS = {
  from: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'dedup-interval': { type: 'string' },
  'dedup-only-zero': { type: 'boolean' },
  tags: { type: 'string' },
} as const;

/** Converts or fails with a usage error carrying the conversion's warnings. */
export async function migrateOrFail(path: string, opts: MigrateOptions): Promise<string> {
  // the converters are only loaded when a seed config is given (`sonde run` rarely needs them)
  const { migrate } = await import('../compat/migrate.js');
  const r = migrate(path, opts);
  if (r.toml === '') throw new SondeError('SONDE_ERR_USAGE', `cannot convert ${path}: ${r.warnings.join('; ')}`);
  return r.toml;
}

export async function migrateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('migrate', argv, MIGRATE_FLAGS);
  if (values.help || positionals.length !== 1) {
    process.stdout.write(MIGRATE_HELP);
    return values.help ? 0 : 2;
  }
  process.stdout.write(await migrateOrFail(positionals[0] as string, migrateOptions(values)));
  return 0;
}
