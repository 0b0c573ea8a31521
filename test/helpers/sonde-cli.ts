// Runs the sonde CLI from source (tests spawn `node --import tsx test/helpers/sonde-cli.ts ARGS`).
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
