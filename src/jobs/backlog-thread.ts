import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../clock.ts';
import { committed } from '../db/changes.ts';
import { openDatabase } from '../db/open.ts';
import type { BacklogThreadData, FromThread, ToThread } from './backlog.ts';
import { DeadlineScheduler } from './scheduler.ts';

// The backlog thread (src/jobs/backlog.ts): its own handle on the database, the same rules as the main
// thread's sweeps, and every commit, slice and result sent back to the main thread to be announced there.
// It imports no more than that needs: the thread's start (its modules compiled) delays the handover.
const data = workerData as BacklogThreadData;
const port = parentPort!;
const send = (message: FromThread) => port.postMessage(message);

// On PostgreSQL the backlog drains in two lanes at once, each on a connection of its own: SKIP LOCKED gives
// each lane other rounds, and the server works on both at a time (one connection's statements run on one
// core). SQLite has one writer: one lane.
const LANES = data.databaseUrl ? 2 : 1;
const db = await openDatabase(data.databaseUrl, data.dataDir, {
  share: data.share,
  poolSize: LANES + 1,
  onCommit: (changes) => send({ type: 'commit', changes: committed(changes) }),
});
// Only drain() runs here: the main thread's scheduler keeps the timer, so nothing here re-arms one.
const scheduler = new DeadlineScheduler(db, { onRoundsChanged: () => () => {} }, systemClock, {
  reminderLeadMs: data.reminderLeadMs,
  sweepIntervalMs: 0,
  batchSize: data.batchSize,
  onSlice: (done, now) => send({ type: 'slice', done, now }),
});

send({ type: 'ready' });

let draining: Promise<unknown> = Promise.resolve();
port.on('message', (message: ToThread) => {
  if (message.type === 'drain') {
    const lanes = Array.from({ length: LANES }, () => scheduler.drain(message.full));
    draining = Promise.all(lanes).then(
      (totals) => send({ type: 'drained', total: totals.reduce((a, b) => ({ expired: a.expired + b.expired, reminded: a.reminded + b.reminded })) }),
      (error: Error) => send({ type: 'failed', error: { message: String(error?.message ?? error), stack: error?.stack } }),
    );
  } else {
    // The drain in progress ends after its slice, and answers, before the database closes.
    void scheduler
      .stop()
      .then(() => draining)
      .then(() => db.close())
      .finally(() => port.close());
  }
});
