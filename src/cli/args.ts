import { parseArgs } from 'node:util';
import { SondeError } from '../errors.js';

/** node:util parseArgs with errors that say which command and how to get help. */
interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string;
} & { help?: boolean };

export interface Parsed<O extends Record<string, OptionSpec>> {
  values: Values<O>;
  positionals: string[];
}

export function parse<const O extends Record<string, OptionSpec>>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = true,
): Parsed<O> {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    return { values: r.values as Values<O>, positionals: r.positionals };
  } catch (e) {
    throw new SondeError('SONDE_ERR_USAGE', `${command}: ${(e as Error).message}`, `see \`sonde ${command} --help\``);
  }
}
