/**
 * `node --import sonde/instrument app.js` with `SONDE_INSTRUMENT=<config>`: validates the config (exits 2
 * with file:line and a hint on any mistake), registers the import-in-the-middle loader for just the
 * configured modules, installs the hooks, and flushes the notifiers before the process exits.
 */
import { register } from 'node:module';
import { createLogger } from '../core/logger.js';
import { ConfigError } from '../errors.js';
import { loadInstrumentConfig, type InstrumentConfig } from './config.js';
import { Instrumenter, loadHelpers, type HelperFns } from './instrumenter.js';

const confPath = process.env['SONDE_INSTRUMENT'];
const logger = createLogger({ level: 'warn', bindings: { component: 'sonde-instrument' } });

function die(e: unknown): never {
  const msg = e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`sonde instrument: ${msg}\n`);
  process.exit(2);
}

if (!confPath) {
  process.stderr.write('sonde instrument: SONDE_INSTRUMENT is not set; nothing is instrumented\n');
} else {
  let config: InstrumentConfig;
  let helpers: HelperFns;
  try {
    config = loadInstrumentConfig(confPath);
    helpers = await loadHelpers(config);
  } catch (e) {
    die(e);
  }
  // Only the configured modules go through the ESM loader's wrapper; everything else loads untouched.
  register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: Instrumenter.loaderIncludes(config) } });
  const inst = new Instrumenter(config, { logger, helpers });
  inst.install();
  // Timers are unref'd, so the last batch is sent when the event loop empties; `beforeExit` fires again
  // after the sends complete and finds nothing pending.
  process.on('beforeExit', () => {
    if (inst.pending()) void inst.flush();
  });
  (globalThis as { __sondeInstrumenter?: Instrumenter }).__sondeInstrumenter = inst;
}
