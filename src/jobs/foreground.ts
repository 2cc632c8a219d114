import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Requests in progress, so that background work (the deadline catch-up) can
 * step aside for them. Between two slices of its work the scheduler waits
 * while a request is being answered, so a request waits for at most the one
 * slice already running instead of one per turn of the event loop it takes.
 * The wait is bounded by the last slice's length: under constant load the
 * background work still gets half the loop, and no deadline is starved.
 */
export class Foreground {
  private active = 0;
  private lastSeen = -Infinity;
  private readonly waiters = new Set<() => void>();

  /** Marks a request as started; call the returned function once it has ended. */
  begin(): () => void {
    this.active++;
    this.lastSeen = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.lastSeen = performance.now();
      if (--this.active === 0) for (const wake of [...this.waiters]) wake();
    };
  }

  /** Whether no request is in progress and none has been for the last `ms`. */
  idleFor(ms: number): boolean {
    return this.active === 0 && performance.now() - this.lastSeen >= ms;
  }

  /** Resolves on the next turn when nothing is in progress; otherwise when the last request ends, or after `maxWaitMs`. */
  quiet(maxWaitMs: number): Promise<void> {
    if (this.active === 0) return nextTurn();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, maxWaitMs);
      this.waiters.add(wake);
    });
  }
}
