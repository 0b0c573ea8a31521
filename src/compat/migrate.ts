/**
 * `sonde migrate`: turns a PuyPuy install (or its config.ini) or a tcollector install into a commented
 * sonde TOML config. The kind is detected from the layout unless given. Every migrated config also
 * writes to the embedded store (dashboard, `sonde query`) unless `noStore`, and enables sonde's own
 * host inputs when the old install ran no host collectors.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { locatePuypuy, readPuypuyConfig } from './puypuy.js';
import { readTcollectorDir, type TcollectorOptions } from './tcollector.js';
import { pruneEmpty, toToml, type TomlTable } from './toml.js';
import type { Conversion } from './types.js';

export type SeedKind = 'puypuy' | 'tcollector';

export interface MigrateResult {
  readonly kind: SeedKind;
  readonly toml: string;
  /** The converted config without empty sections: exactly what `toml` parses to. */
  readonly config: TomlTable;
  readonly warnings: string[];
  /** Settings of the old config that the conversion left out, each with the reason. */
  readonly dropped: string[];
}

export interface MigrateOptions {
  from?: SeedKind;
  /** Leave the embedded store out of the outputs. */
  noStore?: boolean;
  /** tcollector settings from its flags. */
  tcollector?: TcollectorOptions;
}

/** sonde's host inputs enabled when the old install had no host collectors. */
export const HOST_INPUTS = ['cpu', 'memory', 'load', 'disk', 'diskio', 'net', 'netstat', 'processes', 'uptime'] as const;

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasNumericDirs(p: string): boolean {
  try {
    return readdirSync(p).some((n) => /^\d+$/.test(n) && isDir(join(p, n)));
  } catch {
    return false;
  }
}

/**
 * PuyPuy: a .ini file, or a directory with conf/config.ini, config.ini, checks_enabled/ or
 * scripts_enabled/. tcollector: a directory with collectors/, enabled/, <N>/ or tcollector.py.
 */
export function detectSeed(path: string): SeedKind | undefined {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'puypuy';
    if (!st.isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  if (locatePuypuy(path)) return 'puypuy';
  if (isDir(join(path, 'collectors')) || isDir(join(path, 'enabled')) || hasNumericDirs(path) || existsSync(join(path, 'tcollector.py'))) return 'tcollector';
  if (isDir(join(path, 'checks_enabled')) || isDir(join(path, 'scripts_enabled'))) return 'puypuy';
  return 'tcollector';
}

/** Converts; returns the TOML text with the conversion's warnings as comments at the top. */
export function migrate(path: string, opts: MigrateOptions = {}): MigrateResult {
  const kind = opts.from ?? detectSeed(path);
  const fail = (k: SeedKind, w: string): MigrateResult => ({ kind: k, toml: '', config: {}, warnings: [w], dropped: [] });
  if (kind === undefined) return fail('tcollector', `${path}: no such file or directory`);
  let conv: Conversion & { hostCollectors: string[]; dropped?: string[] };
  let source = path;
  if (kind === 'puypuy') {
    try {
      const r = readPuypuyConfig(path);
      conv = r;
      source = r.file;
    } catch (err) {
      return fail(kind, `cannot read the PuyPuy config under ${path}: ${(err as Error).message}`);
    }
  } else {
    conv = readTcollectorDir(path, opts.tcollector ?? {});
  }
  const dropped = conv.dropped ?? [];
  const comments = { ...conv.comments };
  const config = conv.config;
  // exactly the listed plugins: no statsd receiver nobody asked for, no host inputs beside the old
  // install's own host collectors (the same numbers twice)
  config.agent['default_inputs'] = false;
  config.agent['default_outputs'] = false;
  comments['agent'] = [
    ...(comments['agent'] ?? []),
    'default_inputs/default_outputs = false: sonde runs exactly the plugins listed here.',
  ];
  if (conv.hostCollectors.length === 0) {
    for (const name of HOST_INPUTS) config.inputs[name] = [{}];
    comments[`inputs.${HOST_INPUTS[0]}.0`] = [
      `No host collectors found (${kind === 'puypuy' ? 'check_cpustats, check_memory, check_disks, ...' : 'procstats, iostat, dfstat, ...'}): sonde's own host inputs are enabled.`,
    ];
  }
  if (!opts.noStore) {
    config.outputs['store'] = [{}];
    comments['outputs.store.0'] = ["The embedded store: sonde's dashboard and `sonde query` read it (sonde migrate --no-store leaves it out)."];
  }
  const header = [
    `sonde configuration converted from ${kind === 'puypuy' ? 'PuyPuy' : 'tcollector'} (${source}).`,
    'Review it before starting sonde with it.',
  ];
  if (conv.warnings.length > 0) header.push('', 'Needs a look:', ...conv.warnings.map((w) => `- ${w}`));
  if (dropped.length > 0) header.push('', 'Not converted (settings of the old config sonde does not take over):', ...dropped.map((d) => `- ${d}`));
  const pruned = pruneEmpty(config);
  return { kind, toml: toToml(pruned, { header, comments }), config: pruned, warnings: conv.warnings, dropped };
}
