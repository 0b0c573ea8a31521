import { SondeError, ConfigError } from '../errors.js';
import { VERSION } from '../version.js';

/** The `sonde` command: dispatches to subcommands; prints errors with their hint; returns the exit code. */
const HELP = `sonde ${VERSION} — metrics agent, receivers, outputs, embedded store and dashboard

Usage: sonde <command> [options]

Commands:
  run                 start the agent (works with no config: host metrics into ./sonde-data)
  query NAME_GLOB     query stored metrics (table with sparklines, --json, --csv)
  graph NAME_GLOB -o FILE
                      render a chart of a query to SVG or PNG
  status              self-metrics of a running agent
  config init [FILE]  write a commented default config
  config check FILE   validate a config file (exit 0/1)
  migrate PATH        print the sonde config equivalent to a PuyPuy config.ini or tcollector dir
  instrument CONF -- CMD...
                      run a Node app with methods timed/counted per a Tach-style config
  heartbeat setup     print/write the backend rules and receivers the heartbeat check needs
  version             print the version

Run \`sonde <command> --help\` for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;
// Each command's code is imported when it runs: a long-running `sonde run` then carries none of the
// other commands' modules (instrumentation hooks, PNG rendering, seed converters) in its memory.
const COMMANDS: Record<string, Command> = {
  run: async (argv) => (await import('./run.js')).runCommand(argv),
  query: async (argv) => (await import('./query.js')).queryCommand(argv),
  status: async (argv) => (await import('./status.js')).statusCommand(argv),
  config: async (argv) => (await import('./config-cmd.js')).configCommand(argv),
  migrate: async (argv) => (await import('./migrate.js')).migrateCommand(argv),
  instrument: async (argv) => (await import('../instrument/cli.js')).runInstrument(argv),
  heartbeat: async (argv) => (await import('./heartbeat.js')).heartbeatCommand(argv),
  graph: async (argv) => (await import('./graph.js')).graphCommand(argv),
  version: async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write('Usage: sonde version    print the version of sonde and of Node.js\n');
      return 0;
    }
    process.stdout.write(`sonde ${VERSION} (node ${process.version})\n`);
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v') return (COMMANDS['version'] as Command)([]);
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`sonde: unknown command "${cmd}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`sonde: invalid config\n${e.message}\n`);
      return 1;
    }
    if (e instanceof SondeError) {
      process.stderr.write(`sonde: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      return e.code === 'SONDE_ERR_USAGE' ? 2 : 1;
    }
    process.stderr.write(`sonde: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
