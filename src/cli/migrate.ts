import { parse } from './args.js';
import type { MigrateOptions, MigrateResult, SeedKind } from '../compat/migrate.js';
import { takeTcollectorFlags, TcollectorFlagError, type TcollectorOptions } from '../compat/tcollector.js';
import { SondeError } from '../errors.js';

export const MIGRATE_HELP = `Usage: sonde migrate PATH [options] [tcollector flags] > sonde.toml

Prints the sonde TOML config equivalent to a PuyPuy install (its directory, conf/ or config.ini) or a
tcollector install (its directory or collectors/), so you can move over for good. Review the notes at
the top: what needs a look and which settings were not carried over, with the reason.

Options:
      --from KIND            puypuy or tcollector (default: detected from PATH)
      --no-store             leave the embedded store out of the outputs (no dashboard or sonde query)
      --tags K=V,K=V         global tags (same as tcollector -t K=V, repeated)

tcollector's own flags are read as tcollector reads them, after collectors/etc/config.py
get_defaults() and the TSD_* variables of startstop:
  -H HOST -p PORT -L HOST:PORT,...  -t K=V (repeatable)  --dedup-interval S  --dedup-only-zero
  --evict-interval S  --allowed-inactivity-time S  --http  --ssl  --http-username U  --http-password P
  --http-api-path P  --namespace-prefix P  --max-tags N  --reconnect-interval S
Its other flags (-c -d -D -P -v -s --logfile ...) are noted with what sonde does instead.
`;

export const MIGRATE_FLAGS = {
  from: { type: 'string' },
  'no-store': { type: 'boolean' },
  tags: { type: 'string' },
} as const;

/** Takes tcollector's flags out of argv; in `sonde run` only the converted ones (its -c/-d are sonde's). */
export function splitMigrateArgs(argv: string[], only: 'all' | 'converted' = 'all'): { rest: string[]; tcollector: TcollectorOptions } {
  try {
    const { opts, rest } = takeTcollectorFlags(argv, only);
    return { rest, tcollector: opts };
  } catch (e) {
    if (e instanceof TcollectorFlagError) throw new SondeError('SONDE_ERR_USAGE', e.message, 'see `sonde migrate --help`');
    throw e;
  }
}

export function migrateOptions(
  values: { from?: string | undefined; 'no-store'?: boolean | undefined; tags?: string | undefined },
  tcollector: TcollectorOptions = {},
): MigrateOptions {
  const opts: MigrateOptions = {};
  if (values.from !== undefined) {
    if (values.from !== 'puypuy' && values.from !== 'tcollector') {
      throw new SondeError('SONDE_ERR_USAGE', `--from must be puypuy or tcollector, not ${values.from}`);
    }
    opts.from = values.from as SeedKind;
  }
  if (values['no-store']) opts.noStore = true;
  const tc: TcollectorOptions = { ...tcollector };
  if (values.tags !== undefined) {
    for (const kv of values.tags.split(',').filter(Boolean)) {
      if (kv.indexOf('=') <= 0) throw new SondeError('SONDE_ERR_USAGE', `bad --tags entry ${kv} (write k=v,k2=v2)`);
    }
    tc.tags = [...(tc.tags ?? []), ...values.tags.split(',').filter(Boolean)];
  }
  if (Object.keys(tc).length > 0) opts.tcollector = tc;
  return opts;
}

async function convert(path: string, opts: MigrateOptions): Promise<MigrateResult> {
  // the converters are only loaded when a seed config is given (`sonde run` rarely needs them)
  const { migrate } = await import('../compat/migrate.js');
  return migrate(path, opts);
}

/** Converts or fails with a usage error carrying the conversion's warnings; notes go to stderr. */
export async function migrateOrFail(path: string, opts: MigrateOptions, note: (s: string) => void = (s) => process.stderr.write(s)): Promise<string> {
  const r = await convert(path, opts);
  if (r.toml === '') throw new SondeError('SONDE_ERR_USAGE', `cannot convert ${path}: ${r.warnings.join('; ')}`);
  for (const w of r.warnings) note(`sonde: ${path}: ${w}\n`);
  for (const d of r.dropped) note(`sonde: ${path}: not converted: ${d}\n`);
  return r.toml;
}

/**
 * `sonde config check` on a PuyPuy or tcollector install: converts it, validates the result, and only
 * calls it fine when nothing was dropped and nothing needs a look.
 */
export async function checkSeedConfig(path: string, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const r = await convert(path, {});
  if (r.toml === '') throw new SondeError('SONDE_ERR_USAGE', `cannot convert ${path}: ${r.warnings.join('; ')}`);
  const { loadConfig } = await import('../config/load.js');
  const { registryForConfig } = await import('../plugins.js');
  const cfg = loadConfig({ text: r.toml, file: `${path} (converted)`, registry: await registryForConfig(r.toml) });
  const what = `${cfg.inputs.length} inputs, ${cfg.processors.length} processors, ${cfg.outputs.length} outputs`;
  if (r.dropped.length === 0 && r.warnings.length === 0) {
    out(`${path}: ok (${r.kind}; converts to ${what})\n`);
    return 0;
  }
  const lines = [`${path}: converts to a valid sonde config (${what}), but not everything carries over:`];
  for (const w of r.warnings) lines.push(`  needs a look: ${w}`);
  for (const d of r.dropped) lines.push(`  not converted: ${d}`);
  lines.push(`see \`sonde migrate ${path}\` for the config with these notes`);
  out(lines.join('\n') + '\n');
  return 1;
}

export async function migrateCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { rest, tcollector } = splitMigrateArgs(argv);
  const { values, positionals } = parse('migrate', rest, MIGRATE_FLAGS);
  if (values.help || positionals.length !== 1) {
    out(MIGRATE_HELP);
    return values.help ? 0 : 2;
  }
  const path = positionals[0] as string;
  const opts = migrateOptions(values, tcollector);
  const r = await convert(path, opts);
  if (r.toml === '') throw new SondeError('SONDE_ERR_USAGE', `cannot convert ${path}: ${r.warnings.join('; ')}`);
  if (tcollector.notes && r.kind !== 'tcollector') throw new SondeError('SONDE_ERR_USAGE', `tcollector flags given, but ${path} is a ${r.kind} install`);
  for (const n of tcollector.notes ?? []) process.stderr.write(`sonde migrate: ${n}\n`);
  out(r.toml);
  return 0;
}
