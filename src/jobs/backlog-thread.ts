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

const db = await openDatabase(data.databaseUrl, data.dataDir, {
  share: data.share,
  // One connection writes; one more lets a slice's pre-read run beside a commit.
  poolSize: 2,
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
    draining = scheduler.drain(message.full).then(
      (total) => send({ type: 'drained', total }),
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
