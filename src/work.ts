/**
 * Requests' work in progress, over HTTP and WebSocket alike. It goes on after its client has left (a write,
 * then the answer's reads), so the stop waits for it before the database closes: waiting for the connections
 * alone would cut it off halfway, and its queries would fail on a closed database.
 */
export class Work {
  private readonly running = new Set<Promise<unknown>>();

  /** Counts `value` until it settles, if it is a promise (or another thenable); hands it back unchanged. */
  track<T>(value: T): T {
    if (typeof (value as { then?: unknown } | null)?.then === 'function') {
      const done: Promise<unknown> = Promise.resolve(value).then(
        () => this.running.delete(done),
        () => this.running.delete(done),
      );
      this.running.add(done);
    }
    return value;
  }

  /** Waits until nothing runs, for `ms` at most; resolves to how many still run then. */
  async settled(ms: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
    // Again while work begun meanwhile runs (a request parsed while the last ones finished).
    while (this.running.size > 0) {
      const ended = await Promise.race([Promise.all(this.running).then(() => true), timeUp.then(() => false)]);
      if (!ended) break;
    }
    clearTimeout(timer);
    return this.running.size;
  }
}
