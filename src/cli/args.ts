import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SondeError } from '../errors.js';

/** node:util parseArgs with errors that say which command and how to get help. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    throw new SondeError('SONDE_ERR_USAGE', `${command}: ${(e as Error).message}`, `see \`sonde ${command} --help\``);
  }
}
