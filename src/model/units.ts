/**
 * The unit of a metric, from its name: the metadata the host collectors' and self-metrics' names carry
 * (`*_bytes`, `*_percent`, `cpu.usage`, `*_time` in seconds ...), so charts put units on their axes
 * (`sonde graph`, the dashboard). A rate of a counter is that unit per second; counts become ops/s.
 * Kept free of I/O and shared: the dashboard asks for it through the API's bootstrap document.
 */
export type Unit = '%' | 'bytes' | 'bytes/s' | 's' | 'ms' | 'ops/s' | '/s' | '';

/** Exact names first, then patterns; the first match wins. */
const EXACT: Readonly<Record<string, Unit>> = {
  'cpu.usage': '%',
  'cpu.time': 's',
  'system.uptime': 's',
  'sonde.agent.uptime': 's',
  'sonde.agent.cpu_time': 's',
  'sonde.agent.rss': 'bytes',
  'sonde.agent.heap_used': 'bytes',
  'sonde.agent.event_loop_lag': 'ms',
  'mem.total': 'bytes',
  'mem.free': 'bytes',
  'mem.available': 'bytes',
  'mem.used': 'bytes',
  'mem.buffers': 'bytes',
  'mem.cached': 'bytes',
  'mem.shared': 'bytes',
  'mem.slab': 'bytes',
  'mem.dirty': 'bytes',
  'swap.total': 'bytes',
  'swap.free': 'bytes',
  'swap.used': 'bytes',
  'disk.total': 'bytes',
  'disk.free': 'bytes',
  'disk.used': 'bytes',
};

const PATTERNS: ReadonlyArray<readonly [RegExp, Unit]> = [
  [/(_percent|\.percent|_pct|_ratio_percent)$/, '%'],
  [/^pressure\.(some|full)_(avg10|avg60|avg300)$/, '%'],
  [/^pressure\.(some|full)_total$/, 's'],
  [/(_bytes|\.bytes)$/, 'bytes'],
  [/_(ms|millis|milliseconds)$/, 'ms'],
  [/(_seconds|_time_s)$/, 's'],
  [/^diskio\.(read|write|io|weighted_io)_time$/, 'ms'],
];

export function unitOf(name: string): Unit {
  const exact = EXACT[name];
  if (exact !== undefined) return exact;
  for (const [re, u] of PATTERNS) if (re.test(name)) return u;
  return '';
}

/** The unit of `agg(name)`: a rate divides by seconds (bytes -> bytes/s, a count -> ops/s). */
export function unitOfQuery(name: string, agg: string | undefined): Unit {
  const u = unitOf(name);
  if (agg !== 'rate') return u;
  if (u === 'bytes') return 'bytes/s';
  if (u === '' || u === 'ops/s') return 'ops/s';
  if (u === 's') return '';
  return '/s';
}

/** One unit for several series, or undefined when they differ. */
export function commonUnit(units: readonly Unit[]): Unit | undefined {
  if (units.length === 0) return '';
  const first = units[0] as Unit;
  return units.every((u) => u === first) ? first : undefined;
}

/** The rules, for the dashboard (which applies the same table in the browser). */
export function unitTable(): { exact: Record<string, Unit>; patterns: Array<[string, Unit]> } {
  return { exact: { ...EXACT }, patterns: PATTERNS.map(([re, u]) => [re.source, u]) };
}
