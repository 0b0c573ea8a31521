/**
 * A sink that keeps every snapshot in memory: for tests and for applications that want to inspect
 * what would have been sent.
 */
import type { WriteResult } from '../../core/plugin.js';
import type { Point } from '../../model/point.js';
import { toPoints } from '../points.js';
import type { MetricSnapshot, Sink, Snapshot } from '../types.js';

export interface MemorySink extends Sink {
  readonly snapshots: Snapshot[];
  /** All snapshots as points, in order. */
  points(): Point[];
  /** The metric of that name (and, if given, exactly those tags) in the latest snapshot having it. */
  last(name: string, tags?: Readonly<Record<string, string>>): MetricSnapshot | undefined;
  clear(): void;
  /** Set to make the next sends fail (to test error paths). */
  failWith: string | undefined;
  closed: boolean;
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

export function memorySink(): MemorySink {
  const sink: MemorySink = {
    name: 'memory',
    snapshots: [],
    failWith: undefined,
    closed: false,
    send(s: Snapshot): Promise<WriteResult> {
      if (sink.failWith !== undefined) return Promise.resolve({ ok: false, retryable: true, error: sink.failWith });
      sink.snapshots.push(s);
      return Promise.resolve({ ok: true });
    },
    points: () => sink.snapshots.flatMap(toPoints),
    last(name, tags) {
      for (let i = sink.snapshots.length - 1; i >= 0; i--) {
        const m = sink.snapshots[i]?.metrics.find((x) => x.name === name && (!tags || sameTags(x.tags, tags)));
        if (m) return m;
      }
      return undefined;
    },
    clear() {
      sink.snapshots.length = 0;
    },
    close() {
      sink.closed = true;
      return Promise.resolve();
    },
  };
  return sink;
}
