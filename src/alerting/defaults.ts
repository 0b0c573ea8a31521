import { availableParallelism } from 'node:os';

/**
 * The alert rules an agent runs without being told (`[alerting] default_rules = true`): the failures a
 * newcomer wants to hear about on day one, each only when the input it reads runs. Thresholds are meant
 * to stay quiet on a healthy machine, idle or busy, and to fire when something needs a person:
 *
 * | rule | fires when |
 * |---|---|
 * | `disk_nearly_full` | a filesystem is over 90 % used for 5 minutes (clears below 85 %) |
 * | `memory_pressure` | memory is over 95 % used on average over 5 minutes, for 5 minutes (clears below 90 %) |
 * | `load_above_cores` | the 5-minute load average is above the number of cores for 15 minutes |
 * | `input_failing` | an input's gathers fail (sonde.gather_errors rises) for 5 minutes |
 * | `scrape_failing` | a Prometheus target does not answer (up = 0) for 5 minutes |
 * | `output_failing` | an output's writes fail (sonde.write_errors rises) for 5 minutes |
 * | `agent_heartbeat_missing` | the agent's own metrics (sonde.agent.uptime) stop arriving for 2 minutes |
 *
 * A rule in `[[alerting.rules]]` with the same name replaces the default one.
 */
export interface DefaultRuleInput {
  /** Names of the input plugins the agent runs. */
  readonly inputs: readonly string[];
  /** Whether any output runs. */
  readonly outputs: boolean;
  /** The number of cores the load threshold uses (default: this machine's). */
  readonly cores?: number;
}

export type RawRule = Record<string, unknown> & { name: string; expr: string };

export function defaultRules(opts: DefaultRuleInput): RawRule[] {
  const has = (n: string) => opts.inputs.includes(n);
  const cores = opts.cores ?? availableParallelism();
  const labels = { origin: 'default' };
  const out: RawRule[] = [];
  if (has('disk')) {
    out.push({
      name: 'disk_nearly_full',
      expr: 'max(disk.used_percent) over 5m > 90',
      group_by: ['host', 'mount'],
      for: '5m',
      clear_threshold: 85,
      no_data_state: 'ok',
      severity: 'high',
      description: 'A filesystem is over 90 % full.',
      labels,
    });
  }
  if (has('memory')) {
    out.push({
      name: 'memory_pressure',
      expr: 'avg(mem.used_percent) over 5m > 95',
      group_by: ['host'],
      for: '5m',
      clear_threshold: 90,
      no_data_state: 'ok',
      severity: 'high',
      description: 'Memory has been over 95 % used for 5 minutes.',
      labels,
    });
  }
  if (has('load')) {
    out.push({
      name: 'load_above_cores',
      expr: `avg(load.5) over 5m > ${cores}`,
      group_by: ['host'],
      for: '15m',
      no_data_state: 'ok',
      severity: 'medium',
      description: `The 5-minute load average has been above the ${cores} cores for 15 minutes.`,
      labels,
    });
  }
  if (opts.inputs.length > 0) {
    out.push({
      name: 'input_failing',
      expr: 'rate(sonde.gather_errors) over 5m > 0',
      group_by: ['plugin'],
      for: '5m',
      no_data_state: 'ok',
      severity: 'medium',
      description: 'An input has been failing to collect for 5 minutes (see `sonde status` for its last error).',
      labels,
    });
  }
  if (has('prometheus')) {
    out.push({
      name: 'scrape_failing',
      expr: 'max(up) over 5m < 1',
      group_by: ['job', 'instance'],
      for: '5m',
      no_data_state: 'ok',
      severity: 'medium',
      description: 'A Prometheus target has not answered for 5 minutes.',
      labels,
    });
  }
  if (opts.outputs) {
    out.push({
      name: 'output_failing',
      expr: 'rate(sonde.write_errors) over 5m > 0',
      group_by: ['plugin'],
      for: '5m',
      no_data_state: 'ok',
      severity: 'high',
      description: 'An output has been failing to write for 5 minutes; points queue up and are dropped once its buffer is full.',
      labels,
    });
  }
  if (has('agent')) {
    out.push({
      name: 'agent_heartbeat_missing',
      expr: 'absent(sonde.agent.uptime) for 2m',
      severity: 'high',
      description: "The agent's own metrics have not reached the store for 2 minutes (pipeline or store stuck).",
      labels,
    });
  }
  return out;
}
