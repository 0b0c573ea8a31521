/**
 * Rules contributed by plugins rather than written in `[alerting]`: the heartbeat input's "no
 * notification within expect_within" is an absence rule like any other, so it shares the state machine,
 * the persisted state and the notifiers. Plugins and the alerting of one agent meet by data directory
 * (one agent per data dir is enforced by its lock), whichever of them starts first.
 */
import { resolve } from 'node:path';
import type { RuleConfig } from './schema.js';

type Listener = (rule: RuleConfig, added: boolean) => void;

interface Bus {
  readonly rules: Map<string, RuleConfig>;
  readonly listeners: Set<Listener>;
}

const buses = new Map<string, Bus>();

function bus(dataDir: string): Bus {
  const key = resolve(dataDir);
  let b = buses.get(key);
  if (!b) buses.set(key, (b = { rules: new Map(), listeners: new Set() }));
  return b;
}

/** Adds a rule for the agent using `dataDir`; the returned function withdraws it. */
export function contributeRule(dataDir: string, rule: RuleConfig): () => void {
  const b = bus(dataDir);
  b.rules.set(rule.name, rule);
  for (const l of b.listeners) l(rule, true);
  return () => {
    if (b.rules.get(rule.name) !== rule) return;
    b.rules.delete(rule.name);
    for (const l of b.listeners) l(rule, false);
  };
}

/** Whether a plugin has contributed a rule for the agent using `dataDir`. */
export function hasContributedRules(dataDir: string): boolean {
  return bus(dataDir).rules.size > 0;
}

/** Calls `fn` for every contributed rule now and later; returns the unsubscribe function. */
export function subscribeRules(dataDir: string, fn: Listener): () => void {
  const b = bus(dataDir);
  for (const r of b.rules.values()) fn(r, true);
  b.listeners.add(fn);
  return () => {
    b.listeners.delete(fn);
  };
}
