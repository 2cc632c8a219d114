import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { backlogAt, expireDueRequests, nextDeadlineInstant, remindDueRequests } from '../cases/deadlines.ts';
import type { Events } from '../events.ts';
import type { Logger } from '../logger.ts';

export interface SchedulerOptions {
  reminderLeadMs: number;
  /** The safety sweep runs at least this often, whatever the timer says. */
  sweepIntervalMs: number;
  /** Rounds per transaction, so a backlog drains in slices that let requests through. */
  batchSize?: number;
  /**
   * Rounds per transaction while `idle()` says nothing else is going on: a
   * catch-up nobody waits beside drains in fewer, larger transactions (each
   * commit waits for its flush). By default `batchSize`.
   */
  idleBatchSize?: number;
  idle?: () => boolean;
  /**
   * Waited on between two slices of a backlog, given how long the last one
   * took: by default the next turn of the event loop; the app waits while
   * requests are in progress (see Foreground).
   */
  between?: (lastSliceMs: number) => Promise<void>;
  /**
   * Where a backlog drains once the first slice of a sweep finds one (src/jobs/backlog.ts: a thread
   * of its own, so requests keep the main one). By default here, slice by slice with `between`.
   */
  backlog?: Backlog;
  log?: Logger;
  /** Told what each slice did, and of each failed sweep: the app counts them (src/metrics.ts). */
  onSlice?: (done: SliceResult, now: number) => void;
  onFailure?: (error: unknown) => void;
}

export interface SliceResult {
  expired: number;
  reminded: number;
  /** The deadlines of the rounds this slice expired, to tell how late each ran. */
  expiredDueAts: number[];
}


/** Which kinds of due round the last slice took as many of as it could: more are likely due. */
export type Full = { expired: boolean; reminded: boolean };

/**
 * Drains a backlog, given what the slice before found full; stop() ends it after the slice in progress.
 * `ready()` says whether it can take one now, and gets it ready otherwise (a thread starting).
 */
export interface Backlog {
  ready(): boolean;
  /** Gets it ready now; resolves once it can take one. */
  start(): Promise<void>;
  drain(full: Full): Promise<{ expired: number; reminded: number }>;
  stop(): Promise<void>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sends reminders and expires rounds at their instants: an exact timer for
 * the next instant, re-armed whenever rounds change, a periodic safety sweep,
 * and a catch-up at start. Every claim is a conditional update in the rules,
 * so two schedulers on one database, or a crash mid-sweep, never double up.
 */
export class DeadlineScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  /** Set by stop(): a drain in progress ends after its slice (what is left is due at the next start). */
  private halted = false;
  /** prepare() found a backlog and got `backlog` ready for it: the start's catch-up goes there at once. */
  private backlogWaiting = false;
  private unsubscribe: (() => void) | null = null;
  private arming: Promise<void> | null = null;
  private armAgain = false;
  private readonly batchSize: number;

  constructor(
    private readonly db: Db,
    /** Only to re-arm when rounds change (a scheduler that never starts, as on the backlog thread, needs none). */
    private readonly events: Pick<Events, 'onRoundsChanged'>,
    private readonly clock: Clock,
    private readonly options: SchedulerOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
  }

  /** One slice of work at `now`: expiries first, so a round past due gets no late reminder. */
  sweepOnce(now = this.clock.now()): Promise<{ expired: number; reminded: number }> {
    return this.slice(now, this.batchSize, { expired: false, reminded: false });
  }

  /** Up to `size` expiries, then up to `size` reminders; `full` says which the last slice found more of than it took. */
  private async slice(now: number, size: number, full: Full): Promise<{ expired: number; reminded: number }> {
    const expiry = await expireDueRequests(this.db, now, size, { backlog: full.expired });
    const reminder = await remindDueRequests(this.db, now, this.options.reminderLeadMs, size, { backlog: full.reminded });
    const done = { expired: expiry.count, reminded: reminder.count };
    this.options.onSlice?.({ ...done, expiredDueAts: expiry.dueAts }, now);
    return done;
  }

  /**
   * Sweeps until nothing is due, yielding to the event loop between slices; where `backlog` is given, a
   * backlog goes there as soon as it is ready (until then, slices go on here: its thread takes a few
   * hundred milliseconds to start). `full`: a slice before this call found more.
   */
  async drain(full: Full = { expired: false, reminded: false }): Promise<{ expired: number; reminded: number }> {
    const total = { expired: 0, reminded: 0 };
    const between = this.options.between ?? (() => nextTurn());
    for (;;) {
      const started = performance.now();
      const size = this.options.idle?.() ? (this.options.idleBatchSize ?? this.batchSize) : this.batchSize;
      const done = await this.slice(this.clock.now(), size, full);
      total.expired += done.expired;
      total.reminded += done.reminded;
      full = { expired: done.expired === size, reminded: done.reminded === size };
      if ((!full.expired && !full.reminded) || this.halted) return total;
      if (this.options.backlog?.ready()) {
        const rest = await this.options.backlog.drain(full);
        return { expired: total.expired + rest.expired, reminded: total.reminded + rest.reminded };
      }
      await between(performance.now() - started);
    }
  }

  /**
   * Where a backlog is waiting now (a start after downtime) and drains elsewhere, gets that ready, so
   * that it takes the backlog from the first slice on instead of starting beside the first requests.
   */
  async prepare(): Promise<void> {
    const backlog = this.options.backlog;
    if (!backlog || !(await backlogAt(this.db, this.clock.now(), this.options.reminderLeadMs, this.batchSize))) return;
    await backlog.start();
    this.backlogWaiting = true;
  }

  async start(): Promise<{ expired: number; reminded: number }> {
    this.stopped = false;
    this.halted = false;
    this.unsubscribe = this.events.onRoundsChanged(() => this.arm());
    const waiting = this.backlogWaiting;
    this.backlogWaiting = false;
    const caughtUp = waiting ? await this.options.backlog!.drain({ expired: true, reminded: true }) : await this.drain();
    this.arm();
    return caughtUp;
  }

  /** Runs a sweep now (or right after the one in progress), then re-arms the timer. */
  wake(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again && !this.stopped);
      } catch (error) {
        this.options.log?.error({ err: error }, 'deadline sweep failed; retrying at the next tick');
        this.options.onFailure?.(error);
      } finally {
        this.running = null;
        this.arm();
      }
    })();
    return this.running;
  }

  /**
   * Sets the timer for the next instant. Re-arms asked for while the next
   * instant is being read are folded into one more read after it.
   */
  private arm(): void {
    if (this.stopped || this.running) return;
    if (this.arming) {
      this.armAgain = true;
      return;
    }
    this.arming = (async () => {
      try {
        do {
          this.armAgain = false;
          const next = await nextDeadlineInstant(this.db, this.options.reminderLeadMs);
          if (this.stopped || this.running) return;
          const wait = next == null ? this.options.sweepIntervalMs : Math.min(Math.max(0, next - this.clock.now()), this.options.sweepIntervalMs);
          clearTimeout(this.timer);
          this.timer = setTimeout(() => void this.wake(), Math.min(wait, MAX_TIMER_MS));
          this.timer.unref?.();
        } while (this.armAgain && !this.stopped);
      } catch (error) {
        // The database failing must not stop the timer: retry at the next tick.
        this.options.log?.error({ err: error }, 'could not read the next deadline; sweeping at the next tick');
        this.options.onFailure?.(error);
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.wake(), this.options.sweepIntervalMs);
        this.timer.unref?.();
      } finally {
        this.arming = null;
      }
    })();
  }

  get isRunning(): boolean {
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    const backlogEnded = this.options.backlog?.stop();
    await this.running;
    await backlogEnded;
    await this.arming;
    clearTimeout(this.timer);
  }
}
