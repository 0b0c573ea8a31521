/**
 * `sonde migrate`: turns a PuyPuy config.ini or a tcollector directory into a commented sonde TOML
 * config. The kind is detected from the path unless given.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readPuypuyConfig } from './puypuy.js';
import { readTcollectorDir, type TcollectorOptions } from './tcollector.js';
import { pruneEmpty, toToml, type TomlTable } from './toml.js';

export type SeedKind = 'puypuy' | 'tcollector';

export interface MigrateResult {
  readonly kind: SeedKind;
  readonly toml: string;
  /** The converted config without empty sections: exactly what `toml` parses to. */
  readonly config: TomlTable;
  readonly warnings: string[];
}

export interface MigrateOptions extends TcollectorOptions {
  from?: SeedKind;
}

/** A file (config.ini) or a directory holding config.ini is PuyPuy; any other directory is tcollector. */
export function detectSeed(path: string): SeedKind | undefined {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'puypuy';
    if (st.isDirectory()) return existsSync(join(path, 'config.ini')) ? 'puypuy' : 'tcollector';
  } catch {
    return undefined;
  }
  return undefined;
}

/** Converts; returns the TOML text with the conversion's warnings as comments at the top. */
export function migrate(path: string, opts: MigrateOptions = {}): MigrateResult {
  const kind = opts.from ?? detectSeed(path);
  if (kind === undefined) {
    return { kind: 'tcollector', toml: '', config: {}, warnings: [`${path}: no such file or directory`] };
  }
  let conv;
  if (kind === 'puypuy') {
    const file = (() => {
      try {
        return statSync(path).isDirectory() ? join(path, 'config.ini') : path;
      } catch {
        return path;
      }
    })();
    try {
      conv = readPuypuyConfig(file);
    } catch (err) {
      return { kind, toml: '', config: {}, warnings: [`cannot read ${file}: ${(err as Error).message}`] };
    }
  } else {
    conv = readTcollectorDir(path, opts);
  }
  const header = [
    `sonde configuration converted from ${kind === 'puypuy' ? 'PuyPuy' : 'tcollector'} (${path}).`,
    'Review it before starting sonde with it.',
  ];
  if (conv.warnings.length > 0) header.push('', 'Needs a look:', ...conv.warnings.map((w) => `- ${w}`));
  const config = pruneEmpty(conv.config);
  return { kind, toml: toToml(config, { header, comments: conv.comments }), config, warnings: conv.warnings };
}
