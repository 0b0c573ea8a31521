/**
 * Runs a task every `interval` ms, aligned to the wall clock (a 10 s task runs at :00, :10, :20 ...),
 * plus an optional random jitter. A run that is still going when the next is due is skipped and
 * reported through `onOverrun`, never stacked.
 */
export interface ScheduledTask {
  stop(): void;
}

export function scheduleAligned(
  interval: number,
  jitter: number,
  run: (scheduledAt: number) => Promise<void> | void,
  onOverrun: () => void = () => {},
): ScheduledTask {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let stopped = false;
  const next = (): void => {
    if (stopped) return;
    const now = Date.now();
    const at = Math.floor(now / interval) * interval + interval;
    const delay = at - now + (jitter > 0 ? Math.floor(Math.random() * jitter) : 0);
    timer = setTimeout(() => {
      timer = null;
      if (running) onOverrun();
      else {
        running = true;
        Promise.resolve()
          .then(() => run(at))
          .catch(() => {})
          .finally(() => {
            running = false;
          });
      }
      next();
    }, delay);
  };
  next();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
