import { existsSync, statSync, writeFileSync } from 'node:fs';
import { parse } from './args.js';
import { resolveConfig } from './resolve.js';
import { builtinRegistry } from '../plugins.js';
import { defaultConfigToml } from '../config/template.js';
import { SondeError } from '../errors.js';

export const CONFIG_HELP = `Usage: sonde config init [FILE] [--force]    write a commented default config (default ./sonde.toml; - for stdout)
       sonde config check FILE                validate a config file: exit 0 if good, 1 with file:line errors if not
                                              (a PuyPuy/tcollector install or .ini: 1 when the conversion drops settings)
`;

export async function configCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'init') {
    const { values, positionals } = parse('config init', rest, { force: { type: 'boolean', short: 'f' } });
    if (values.help) {
      process.stdout.write(CONFIG_HELP);
      return 0;
    }
    const file = positionals[0] ?? 'sonde.toml';
    const text = defaultConfigToml(await builtinRegistry());
    if (file === '-') {
      process.stdout.write(text);
      return 0;
    }
    if (existsSync(file) && !values.force) {
      throw new SondeError('SONDE_ERR_USAGE', `${file} exists`, 'pass --force to overwrite it, or name another file');
    }
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}; check it with \`sonde config check ${file}\`, run with \`sonde run -c ${file}\`\n`);
    return 0;
  }
  if (sub === 'check') {
    const { values, positionals } = parse('config check', rest, {});
    if (values.help || positionals.length !== 1) {
      process.stdout.write(CONFIG_HELP);
      return values.help ? 0 : 2;
    }
    const file = positionals[0] as string;
    // a PuyPuy or tcollector install (a directory or an .ini): check what it converts to
    if (/\.ini$/i.test(file) || (existsSync(file) && statSync(file).isDirectory())) return (await import('./migrate.js')).checkSeedConfig(file);
    // the same resolution and validation `sonde run` does (SONDE_* variables included)
    const cfg = await resolveConfig({ config: file });
    const count = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    process.stdout.write(
      `${file}: ok (${count(cfg.inputs.length, 'input')}, ${count(cfg.processors.length, 'processor')}, ${count(cfg.outputs.length, 'output')})\n`,
    );
    return 0;
  }
  process.stdout.write(CONFIG_HELP);
  return sub === '--help' || sub === '-h' ? 0 : 2;
}
