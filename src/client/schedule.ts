/**
 * Wall-clock aligned ticks: the first tick fires at the next multiple of the interval and each later
 * one is re-aligned, so snapshots from many processes line up and never drift.
 */
export interface Ticker {
  stop(): void;
}

export function alignedTicker(intervalMs: number, tick: (boundary: number) => void): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let last = Date.now() - (Date.now() % intervalMs);
  const arm = (): void => {
    if (stopped) return;
    const now = Date.now();
    let delay = last + intervalMs - now;
    // Fell behind (a blocked event loop, a suspended laptop): skip to the next boundary.
    if (delay <= 0) delay = intervalMs - (now % intervalMs);
    timer = setTimeout(fire, delay);
    timer.unref();
  };
  const fire = (): void => {
    // The wall clock and the timer clock may disagree by a millisecond either way, so the tick is
    // named after the nearest boundary and a boundary is never ticked twice.
    const boundary = Math.round(Date.now() / intervalMs) * intervalMs;
    try {
      if (boundary > last) {
        last = boundary;
        tick(boundary);
      }
    } finally {
      arm();
    }
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
