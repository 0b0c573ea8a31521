import { Agent } from '../agent.js';
import { createLogger, type LogLevel } from '../core/logger.js';
import { parse } from './args.js';
import { resolveConfig, configPath } from './resolve.js';
import { VERSION } from '../version.js';
import { MIGRATE_FLAGS, migrateOptions, migrateOrFail, splitMigrateArgs } from './migrate.js';
import { SondeError } from '../errors.js';

export const RUN_HELP = `Usage: sonde run [options]

Starts the agent: collects host metrics, runs the configured inputs, processors and outputs, stores
points in the embedded store and serves the HTTP API. Ctrl-C or SIGTERM flushes and stops cleanly.

Options:
  -c, --config FILE     config file (default: $SONDE_CONFIG, else ./sonde.toml if present, else built-in defaults)
  -d, --data-dir DIR    data directory (env SONDE_DATA_DIR; default ./sonde-data)
  -l, --listen ADDR     HTTP API address host:port (env SONDE_LISTEN; default 127.0.0.1:8470)
      --log-level LVL   debug, info, warn, error, silent (env SONDE_LOG_LEVEL)
      --puypuy-config FILE   run the pipeline a PuyPuy config.ini describes (see \`sonde migrate\`)
      --tcollector-dir DIR   run a tcollector install (with tcollector's -H -p -t ... flags, see \`sonde migrate --help\`)
  -h, --help            this help
`;

export async function runCommand(argv: string[]): Promise<number> {
  const { rest, tcollector } = splitMigrateArgs(argv, 'converted');
  const { values } = parse('run', rest, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string', short: 'd' },
    listen: { type: 'string', short: 'l' },
    'log-level': { type: 'string' },
    'puypuy-config': { type: 'string' },
    'tcollector-dir': { type: 'string' },
    ...MIGRATE_FLAGS,
  }, false);
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const seedPath = values['puypuy-config'] ?? values['tcollector-dir'];
  if (values['puypuy-config'] && values['tcollector-dir']) {
    throw new SondeError('SONDE_ERR_USAGE', 'give --puypuy-config or --tcollector-dir, not both');
  }
  if (seedPath && values.config) throw new SondeError('SONDE_ERR_USAGE', `--config cannot be combined with --${values['puypuy-config'] ? 'puypuy-config' : 'tcollector-dir'}`);
  const seed = seedPath
    ? { path: seedPath, text: await migrateOrFail(seedPath, { ...migrateOptions(values, tcollector), from: values['puypuy-config'] ? 'puypuy' : 'tcollector' }) }
    : undefined;
  const cfg = await resolveConfig({ config: values.config, dataDir: values['data-dir'], listen: values.listen, logLevel: values['log-level'] }, process.env, seed);
  const logger = createLogger({ level: cfg.agent.log_level as LogLevel, format: cfg.agent.log_format });
  const agent = new Agent(cfg, { logger, version: VERSION });
  const banner = await agent.start();
  const file = seedPath ? `${seedPath} (converted; see \`sonde migrate ${seedPath}\`)` : configPath(values.config);
  const out = [
    `sonde ${VERSION} agent running (pid ${process.pid}, host ${agent.hostname})`,
    `  config:    ${file ?? 'built-in defaults (write one with `sonde config init`)'}`,
    `  collects:  ${banner.collects.join(', ') || 'nothing'}`,
    ...banner.listens.map((l, i) => `  ${i === 0 ? 'listens:  ' : '          '} ${l}`),
    `  data dir:  ${banner.dataDir}`,
    `  outputs:   ${banner.outputs.join(', ') || 'none'}`,
    banner.url ? `  dashboard: ${banner.url}   (API: ${banner.url}api/v1/status)` : '  dashboard: disabled ([http] enabled = false)',
    '  stop with Ctrl-C',
  ];
  process.stdout.write(out.join('\n') + '\n');

  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn('second signal: exiting without flushing', { signal: sig });
        process.exit(1);
      }
      logger.info('stopping: flushing outputs and closing the store', { signal: sig });
      agent
        .stop()
        .then(() => {
          logger.info('stopped cleanly');
          resolve(0);
        })
        .catch((e: unknown) => {
          logger.error('error while stopping', { error: e });
          resolve(1);
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
