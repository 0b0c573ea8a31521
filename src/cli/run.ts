import { Agent } from '../agent.js';
import { createLogger, type LogLevel } from '../core/logger.js';
import { parse } from './args.js';
import { resolveConfig, configPath } from './resolve.js';
import { VERSION } from '../version.js';
import { MIGRATE_FLAGS, migrateOptions, migrateOrFail, splitMigrateArgs } from './migrate.js';
import { SondeError } from '../errors.js';
import type { SondeConfig, PluginInstance } from '../config/load.js';
import { encodeInfluxLine } from '../codecs/influx.js';
import { parseDuration } from '../model/quantities.js';

/** Telegraf's `--input-filter cpu:mem`: keeps the named plugins of the config (its defaults included). */
export function filterPlugins(cfg: SondeConfig, inputFilter: string | undefined, outputFilter: string | undefined): SondeConfig {
  const pick = (list: PluginInstance[], filter: string | undefined, flag: string): PluginInstance[] => {
    if (filter === undefined) return list;
    const names = filter.split(/[:,]/).map((n) => n.trim()).filter(Boolean);
    const have = new Set(list.map((p) => p.name));
    const missing = names.filter((n) => !have.has(n));
    if (missing.length > 0) {
      throw new SondeError('SONDE_ERR_USAGE', `${flag}: ${missing.join(', ')} not in the config`, `the config has: ${[...have].join(', ') || 'none'}`);
    }
    return list.filter((p) => names.includes(p.name));
  };
  return { ...cfg, inputs: pick(cfg.inputs, inputFilter, '--input-filter'), outputs: pick(cfg.outputs, outputFilter, '--output-filter') };
}

function testWait(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new SondeError('SONDE_ERR_USAGE', `--test-wait ${text}: not a duration`, 'write e.g. 2s or 500ms');
  return ms;
}

async function testOnce(cfg: SondeConfig, format: 'influx' | 'json', waitMs: number): Promise<number> {
  // the log goes to stderr, the points to stdout; warnings only, so the output stays readable
  const logger = createLogger({ level: cfg.agent.log_level === 'debug' ? 'debug' : 'warn', format: cfg.agent.log_format });
  const agent = new Agent(cfg, { logger, version: VERSION });
  const { points, skipped, failed } = await agent.gatherOnce(waitMs);
  let out = '';
  for (const p of points) {
    out += format === 'json' ? JSON.stringify({ name: p.name, tags: p.tags, value: p.value, ts: p.ts, kind: p.kind }) + '\n' : encodeInfluxLine(p, { precision: 'ns' }) + '\n';
  }
  process.stdout.write(out);
  if (skipped.length > 0) process.stderr.write(`sonde: --test skips inputs that only listen or run scripts (add --test-wait 2s to include them): ${skipped.join(', ')}\n`);
  for (const f of failed) process.stderr.write(`sonde: ${f.id}: gather failed: ${f.error}\n`);
  return failed.length > 0 ? 1 : 0;
}

export const RUN_HELP = `Usage: sonde run [options]

Starts the agent: collects host metrics, runs the configured inputs, processors and outputs, stores
points in the embedded store and serves the HTTP API. Ctrl-C or SIGTERM flushes and stops cleanly.

Options:
  -c, --config FILE     config file (default: $SONDE_CONFIG, else ./sonde.toml if present, else built-in defaults)
  -d, --data-dir DIR    data directory (env SONDE_DATA_DIR; default ./sonde-data)
  -l, --listen ADDR     HTTP API address host:port (env SONDE_LISTEN; default 127.0.0.1:8470)
      --statsd ADDR     statsd UDP address (default 127.0.0.1:8125); also --collectd, --graphite,
                        --opentsdb, --influxdb ADDR: start that receiver on ADDR
      --log-level LVL   debug, info, warn, error, silent (env SONDE_LOG_LEVEL)
      --test            run every input once, print the points (after the processors) and exit;
                        opens nothing (no store, sockets or outputs); receivers are skipped
      --test-wait DUR   with --test: also start receivers and collector scripts, and print what
                        they emit within DUR (e.g. 2s)
      --format FMT      with --test: influx (line protocol, default) or json (one object per line)
      --input-filter A:B   run only these inputs (names from the config or the defaults)
      --output-filter A:B  write only to these outputs
      --puypuy-config FILE   run the pipeline a PuyPuy config.ini describes (see \`sonde migrate\`)
      --tcollector-dir DIR   run a tcollector install (with tcollector's -H -p -t ... flags, see \`sonde migrate --help\`)
  -h, --help            this help
`;

export async function runCommand(argv: string[]): Promise<number> {
  // tcollector's flags (-H -p -t ...) only mean something next to --tcollector-dir
  const withTcollector = argv.some((a) => a === '--tcollector-dir' || a.startsWith('--tcollector-dir='));
  const { rest, tcollector } = withTcollector ? splitMigrateArgs(argv, 'converted') : { rest: argv, tcollector: {} };
  const { values } = parse('run', rest, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string', short: 'd' },
    listen: { type: 'string', short: 'l' },
    'log-level': { type: 'string' },
    'puypuy-config': { type: 'string' },
    'tcollector-dir': { type: 'string' },
    test: { type: 'boolean' },
    format: { type: 'string' },
    'test-wait': { type: 'string' },
    'input-filter': { type: 'string' },
    'output-filter': { type: 'string' },
    statsd: { type: 'string' },
    collectd: { type: 'string' },
    graphite: { type: 'string' },
    opentsdb: { type: 'string' },
    influxdb: { type: 'string' },
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
  const receivers = { statsd: values.statsd, collectd: values.collectd, graphite: values.graphite, opentsdb: values.opentsdb, influxdb: values.influxdb };
  const format = values.format ?? 'influx';
  if (format !== 'influx' && format !== 'json') throw new SondeError('SONDE_ERR_USAGE', `--format ${format}: unknown format`, 'use --format influx or --format json');
  if (values.format !== undefined && !values.test) throw new SondeError('SONDE_ERR_USAGE', '--format only applies with --test');
  const resolved = await resolveConfig(
    { config: values.config, dataDir: values['data-dir'], listen: values.listen, logLevel: values['log-level'], receivers },
    process.env,
    seed,
  );
  const cfg = filterPlugins(resolved, values['input-filter'], values['output-filter']);
  if (values.test) return testOnce(cfg, format, values['test-wait'] !== undefined ? testWait(values['test-wait']) : 0);
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
    ...banner.warnings.map((w) => `  warning:   ${w.message}${w.hint ? ` (${w.hint})` : ''}`),
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
