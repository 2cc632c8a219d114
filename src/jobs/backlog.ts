import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Committed } from '../db/changes.ts';
import type { SharedWith } from '../db/database.ts';
import { releaseThreadLocks } from '../db/open.ts';
import type { Backlog, Full, SliceResult } from './scheduler.ts';

/** How long the thread waits for another backlog after one has drained before it ends. */
const IDLE_STOP_MS = 60_000;

/** What the backlog thread is started with: how to open the same database, and the sweep's settings. */
export interface BacklogThreadData {
  databaseUrl: string | null;
  dataDir: string;
  share: SharedWith;
  reminderLeadMs: number;
  batchSize: number;
}

export type ToThread = { type: 'drain'; full: Full } | { type: 'stop' };
type Total = { expired: number; reminded: number };
export type FromThread =
  | { type: 'ready' }
  | { type: 'commit'; changes: Committed }
  | { type: 'slice'; done: SliceResult; now: number }
  | { type: 'drained'; total: Total }
  | { type: 'failed'; error: { message: string; stack?: string | undefined } };

export interface BacklogThreadOptions extends BacklogThreadData {
  /** How long the thread waits for another backlog before it ends (IDLE_STOP_MS by default). */
  idleStopMs?: number;
  /** Each of the thread's commits, to be announced here as this thread's own (src/events.ts). */
  onCommit: (changes: Committed) => void;
  onSlice: (done: SliceResult, now: number) => void;
}

/**
 * A deadline backlog (a catch-up after downtime: 100,000 rounds due at once)
 * drains on a worker thread of its own, so the requests that come meanwhile
 * keep the main thread and its event loop, and the catch-up a core: on one
 * thread the two took turns, and together they could use one core only.
 * The thread opens the same database (on SQLite it shares the main thread's
 * write lock, see src/db/dialects/sqlite.ts) and runs the same rules as the
 * main thread's sweeps, in transactions of `batchSize` rounds; its commits
 * are announced by the main thread, which holds the sockets and the bus to
 * other instances. It starts with the first backlog (which drains on the
 * main thread while it starts) and ends a minute after the last, or at stop().
 */
export class BacklogThread implements Backlog {
  private worker: Worker | null = null;
  private started = false;
  private whenStarted: Promise<void> = Promise.resolve();
  private idle: NodeJS.Timeout | undefined;
  /** The drain in progress, and the thread it was sent to: only that thread's answer, or end, settles it. */
  private pending: { worker: Worker; resolve: (total: Total) => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: BacklogThreadOptions) {}

  /** Whether the thread has started and opened the database; starts it if not. */
  ready(): boolean {
    this.worker ??= this.spawn();
    return this.started;
  }

  /** Starts the thread now, if it is not running, and resolves once it can take a backlog. */
  start(): Promise<void> {
    this.worker ??= this.spawn();
    return this.whenStarted;
  }

  /** Drains on the thread until nothing is due; one drain at a time, as the scheduler asks. */
  drain(full: Full): Promise<Total> {
    if (this.pending) return Promise.reject(new Error('the backlog thread is draining already'));
    clearTimeout(this.idle);
    const worker = (this.worker ??= this.spawn());
    return new Promise<Total>((resolve, reject) => {
      this.pending = { worker, resolve, reject };
      worker.postMessage({ type: 'drain', full } satisfies ToThread);
    });
  }

  /** Whether the thread is running (started, or starting). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Ends the thread after the slice it is in (a drain in progress resolves with what it did). */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.started = false;
    const exited = once(worker, 'exit');
    worker.postMessage({ type: 'stop' } satisfies ToThread);
    await exited;
  }

  private spawn(): Worker {
    const { onCommit: _onCommit, onSlice: _onSlice, idleStopMs: _idleStopMs, ...data } = this.options;
    const worker = new Worker(new URL('./backlog-thread.mjs', import.meta.url), { workerData: data satisfies BacklogThreadData, name: 'deadline backlog' });
    // Read now: once the thread has ended its id reads -1.
    const threadId = worker.threadId;
    worker.unref();
    let onStarted!: () => void;
    let onFailed!: (error: Error) => void;
    this.whenStarted = new Promise<void>((resolve, reject) => {
      onStarted = resolve;
      onFailed = reject;
    });
    // A thread that fails to start fails the drain that waits for it; start() alone need not be awaited.
    this.whenStarted.catch(() => {});
    worker.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'ready':
          this.started = this.worker === worker;
          return onStarted();
        case 'commit':
          return this.options.onCommit(message.changes);
        case 'slice':
          return this.options.onSlice(message.done, message.now);
        case 'drained':
          return this.settle(worker, null, message.total);
        case 'failed':
          return this.settle(worker, Object.assign(new Error(message.error.message), { stack: message.error.stack }));
      }
    });
    worker.on('error', (error) => {
      onFailed(error);
      this.settle(worker, error);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = null;
        this.started = false;
      }
      // A thread that ended inside a write would leave the others waiting for its lock for ever.
      releaseThreadLocks(this.options.share, threadId);
      const ended = new Error(`the backlog thread ended (exit code ${code})`);
      onFailed(ended);
      this.settle(worker, ended);
    });
    return worker;
  }

  /**
   * Ends the drain `worker` was given. A thread that idled out may end after the next backlog went to a new one:
   * its exit must not fail that drain.
   */
  private settle(worker: Worker, error: Error | null, total?: Total): void {
    const pending = this.pending;
    if (pending?.worker !== worker) return;
    this.pending = null;
    if (error) return pending.reject(error);
    pending.resolve(total!);
    // Backlogs are rare (a start after downtime): a thread with none for a while gives its memory back.
    clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.stop(), this.options.idleStopMs ?? IDLE_STOP_MS);
    this.idle.unref();
  }
}
