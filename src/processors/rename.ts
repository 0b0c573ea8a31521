/**
 * The `rename` processor: rewrites metric names by exact name, glob (each `*` or `?` is captured as
 * `$1`, `$2`, ...) or regular expression, then adds an optional prefix and suffix.
 */
import { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import { sanitizeName } from '../model/sanitize.js';
import { defineProcessor } from '../core/plugin.js';
import { compileGlobs, globToRegExp } from '../core/glob.js';

const rule = z.object({
  from: z.string().min(1).describe('Exact name, glob (`proc.stat.*`) or, with regex = true, a regular expression'),
  to: z.string().describe('New name; `$1`... refer to the glob wildcards or regex groups'),
  regex: z.boolean().default(false).describe('Treat `from` as a regular expression (matched against the whole name)'),
});

const schema = z.object({
  from: z.string().min(1).optional().describe('Shorthand for a single rule: the name or pattern to rewrite'),
  to: z.string().optional().describe('Shorthand for a single rule: the new name'),
  regex: z.boolean().default(false).describe('Shorthand for a single rule: `from` is a regular expression'),
  rules: z.array(rule).default([]).describe('Rules tried in order; the first that matches wins'),
  prefix: z.string().default('').describe('Prepended to every (matching) name, after the rules'),
  suffix: z.string().default('').describe('Appended to every (matching) name, after the rules'),
  names: z.array(z.string()).default([]).describe('Name globs that prefix and suffix apply to; empty = all'),
});

type Rewrite = (name: string) => string | undefined;

function compileRule(from: string, to: string, regex: boolean): Rewrite {
  if (!regex && !/[*?]/.test(from)) return (name) => (name === from ? to : undefined);
  let re: RegExp;
  try {
    re = regex ? new RegExp(`^(?:${from})$`, 's') : globToRegExp(from, { alternatives: false, capture: true });
  } catch {
    return () => undefined; // a bad regex matches nothing; the schema cannot check regex syntax
  }
  return (name) => {
    const m = re.exec(name);
    if (!m) return undefined;
    return to.replace(/\$(\d+)/g, (_, d: string) => m[Number(d)] ?? '');
  };
}

export default defineProcessor({
  name: 'rename',
  description: 'Rewrites metric names: exact, glob or regex rules, then an optional prefix/suffix',
  schema,
  create(config, ctx) {
    const rules: Rewrite[] = [];
    if (config.from !== undefined && config.to !== undefined) rules.push(compileRule(config.from, config.to, config.regex));
    for (const r of config.rules) rules.push(compileRule(r.from, r.to, r.regex));
    for (const r of config.rules.filter((x) => x.regex)) {
      try {
        new RegExp(r.from);
      } catch (err) {
        ctx.logger.error('rename: invalid regular expression, rule ignored', { from: r.from, error: (err as Error).message });
      }
    }
    const affix = config.prefix !== '' || config.suffix !== '';
    const affixOnly = config.names.length > 0 ? compileGlobs(config.names) : undefined;
    const invalid = ctx.metrics.counter('names_invalid', {}, 'renames that produced an empty name (point kept as is)');
    const cache = new Map<string, string>();
    const rename = (name: string): string => {
      let out = name;
      for (const r of rules) {
        const n = r(name);
        if (n !== undefined) {
          out = n;
          break;
        }
      }
      if (affix && (!affixOnly || affixOnly(name))) out = config.prefix + out + config.suffix;
      if (out === name) return name;
      const clean = sanitizeName(out);
      if (clean === '') {
        invalid.inc();
        return name;
      }
      return clean;
    };
    return {
      process(points) {
        const out: Point[] = new Array<Point>(points.length);
        for (let i = 0; i < points.length; i++) {
          const p = points[i] as Point;
          let n = cache.get(p.name);
          if (n === undefined) {
            n = rename(p.name);
            if (cache.size >= 10_000) cache.clear(); // names are few; a flood of new ones just recomputes
            cache.set(p.name, n);
          }
          out[i] = n === p.name ? p : { ...p, name: n };
        }
        return out;
      },
    };
  },
});
