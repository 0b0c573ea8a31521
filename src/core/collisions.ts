/**
 * Collision accounting for outputs whose sink cannot carry sonde's names as they are: when the sink's
 * mapping (characters replaced, names cut, suffixes added) turns two different sonde series into one,
 * they overwrite each other there. Each point that lands on a series another sonde series already
 * has is counted in the output's `series_collisions`, and each colliding pair is logged once, with both
 * sonde series and what the sink calls them.
 */
import type { Point } from '../model/point.js';
import { CollisionWatch, seriesKey } from '../model/series.js';
import type { PluginContext } from './plugin.js';

export interface SeriesCollisions {
  /**
   * Checks a batch. `sink(p)` is the sink's series key for p (e.g. a `seriesKey` of the names and tags
   * the sink writes, or a Graphite path), undefined for a point the sink does not take. `changed(p)` is
   * false when the sink's mapping leaves p's series as it is, so that key also stands for p itself (the
   * cheap, common case: nothing is built for it until some series needed mapping). `source(p)` is
   * sonde's key of p (default `seriesKey`).
   */
  points(points: readonly Point[], sink: (p: Point) => string | undefined, changed: (p: Point) => boolean, source?: (p: Point) => string): void;
  /** The same for one point whose sink key the caller has built anyway (in its encoding loop). */
  point(p: Point, sinkKey: string, changed: boolean, source?: (p: Point) => string): void;
  /**
   * Checks one series by its sonde key and the sink's (`points` of them in this batch); `keep` records it
   * even when the keys are equal. For callers that see each series once (per batch or ever).
   */
  series(sourceKey: string, sinkKey: string, keep?: boolean, points?: number): void;
  /** True once some series needed mapping: before, a series the sink keeps as it is cannot collide. */
  readonly active: boolean;
}

/** Marks a series the sink keeps as it is, apart from any sonde key. */
const KEPT = '\u0001';
const sondeKey = (p: Point): string => seriesKey(p.name, p.tags);

/**
 * `sink` names the sink in the warning and the self-metric's help (`OpenTSDB`, `Graphite`); `why` says what
 * its mapping does (`characters OpenTSDB cannot store become _`).
 */
export function seriesCollisions(ctx: Pick<PluginContext, 'metrics' | 'logger'>, sink: string, why: string): SeriesCollisions {
  const counter = ctx.metrics.counter('series_collisions', {}, `Points whose series maps to the same ${sink} series as another one (they overwrite each other there).`);
  const watch = new CollisionWatch();
  const warned = new Set<string>();
  /** `shown` names the series in the warning when its key in the watch is the sink's own. */
  const note = (source: string, sinkKey: string, keep: boolean | undefined, n: number, shown?: () => string): void => {
    const other = watch.note(sinkKey, source, keep);
    if (other === undefined) return;
    counter.inc(n);
    const pair = other < source ? `${other}\u0000${source}` : `${source}\u0000${other}`;
    if (warned.has(pair)) return;
    if (warned.size >= 10_000) warned.clear();
    warned.add(pair);
    ctx.logger.warn(`two series map to one ${sink} series (${why})`, { series: other, and: shown ? shown() : source, as: sinkKey });
  };
  const point = (p: Point, k: string, changed: boolean, source: (p: Point) => string = sondeKey): void => {
    // only changed series are kept, so any other series on a kept key is a collision (whatever the
    // sink's keys look like beside sonde's)
    if (changed) note(source(p), k, true, 1);
    else if (watch.active) note(KEPT + k, k, false, 1, () => source(p));
  };
  return {
    get active() {
      return watch.active;
    },
    series: (source, sinkKey, keep, n = 1) => note(source, sinkKey, keep, n),
    point,
    points(points, sinkOf, changed, source = sondeKey) {
      for (const p of points) {
        const c = changed(p);
        if (!c && !watch.active) continue;
        const k = sinkOf(p);
        if (k !== undefined) point(p, k, c, source);
      }
    },
  };
}
