import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BacklogThread } from '../src/jobs/backlog.ts';
import { openCase, startServer, tempDir, type TestServer } from './helpers.ts';
import { MESSAGE_BOX, type BoxEvent } from './message-box.ts';
import { databaseUrlFor, onPostgres, stored, storedExec } from './stored.ts';
import { connect, type Socket } from './ws-client.ts';

// A deadline backlog (rounds that fell due while nobody swept) drains on a thread of its own
// (src/jobs/backlog.ts), on the real clock, so these tests use it; the rounds are made due by hand.
const servers: TestServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  while (sockets.length) await sockets.pop()!.dispose();
  while (servers.length) await servers.pop()!.stop();
});

async function serve(env: Record<string, string> = {}, dataDir?: string) {
  // Five rounds per slice, so a few dozen due rounds are a backlog; only the test makes rounds due.
  const server = await startServer({ SWEEP_BATCH: '5', SWEEP_INTERVAL: '1h', ...env }, dataDir ? { dataDir } : {});
  servers.push(server);
  return server;
}

async function openCases(server: TestServer, merchantId: string, count: number) {
  const cases = [];
  for (let i = 0; i < count; i += 10) cases.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => openCase(server, merchantId)))));
  return cases;
}

/** Every open round of `merchantId` fell due a second ago, as after downtime. */
async function fallDue(server: TestServer, merchantId: string): Promise<void> {
  await storedExec(
    server.dataDir,
    `UPDATE evidence_requests SET due_at = ${Date.now() - 1000} WHERE status = 'OPEN' AND after_sale_id IN (SELECT id FROM after_sales WHERE merchant_id = '${merchantId}')`,
  );
}

/** Per after-sale of `merchantId`: its status and how often it was expired, resolved and told so. */
function decisions(server: TestServer, merchantId: string) {
  return stored(server.dataDir, (db) =>
    db.all<{ status: string; round: string; expiredLogs: number; resolvedLogs: number; expiredMessages: number }>(
      `SELECT a.status, r.status AS round,
         (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_EXPIRED') AS "expiredLogs",
         (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'ARBITRATION_RESOLVED') AS "resolvedLogs",
         (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_EXPIRED') AS "expiredMessages"
       FROM after_sales a JOIN evidence_requests r ON r.after_sale_id = a.id WHERE a.merchant_id = ?`,
      merchantId,
    ),
  );
}

const decidedOnce = { status: 'RESOLVED', round: 'EXPIRED', expiredLogs: 1, resolvedLogs: 1, expiredMessages: 1 };

describe('a deadline backlog on its own thread', () => {
  it('decides each round once, pushes each expiry to the open message box, and takes writes meanwhile', async () => {
    const server = await serve();
    await server.app.backlog!.start();
    const merchant = await server.merchantToken('shop-a');
    await openCases(server, 'shop-a', 60);
    const socket = connect(server.url, merchant);
    sockets.push(socket);
    await socket.connected();
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();

    await fallDue(server, 'shop-a');
    const [, other] = await Promise.all([server.app.scheduler.wake(), openCase(server, 'shop-b')]);

    const rows = await decisions(server, 'shop-a');
    expect(rows).toHaveLength(60);
    for (const row of rows) expect(row).toEqual(decidedOnce);
    const events = (await box.received(60)).map((r) => (r.data as BoxEvent).messageBox.message);
    expect(events.every((m) => m.kind === 'EVIDENCE_EXPIRED')).toBe(true);
    expect(new Set(events.map((m) => m.id)).size).toBe(60);
    // The write that came during the catch-up opened its round, which is not due.
    expect(await decisions(server, 'shop-b')).toEqual([{ status: 'AWAITING_MERCHANT_EVIDENCE', round: 'OPEN', expiredLogs: 0, resolvedLogs: 0, expiredMessages: 0 }]);
    expect(other.requestId).toBeTruthy();
  });

  it('takes a backlog found at start (after downtime) from the first slice, before the first request', async () => {
    const dataDir = tempDir();
    const first = await serve({}, dataDir);
    await openCases(first, 'shop-e', 30);
    await first.app.stop();
    servers.pop();
    await fallDue(first, 'shop-e');

    // Thirty due rounds, five a slice: more than one slice is waiting, so the thread starts before listening.
    const second = await serve({}, dataDir);
    const rows = await decisions(second, 'shop-e');
    expect(rows).toHaveLength(30);
    for (const row of rows) expect(row).toEqual(decidedOnce);
  });

  it('ends once idle, and a new one takes the next backlog, also one that comes while the last is ending', async () => {
    const server = await serve();
    const expired: number[] = [];
    const thread = new BacklogThread({
      databaseUrl: (await databaseUrlFor(server.dataDir)) ?? null,
      dataDir: server.dataDir,
      share: server.app.services.db.share(),
      reminderLeadMs: 12 * 3_600_000,
      batchSize: 5,
      idleStopMs: 100,
      onCommit: () => {},
      onSlice: (done) => expired.push(done.expired),
    });
    try {
      await openCases(server, 'shop-h', 12);
      await fallDue(server, 'shop-h');
      await thread.start();
      expect(await thread.drain({ expired: true, reminded: true })).toEqual({ expired: 12, reminded: 0 });
      await vi.waitFor(() => expect(thread.running).toBe(false), { timeout: 5000, interval: 20 });

      await openCases(server, 'shop-h', 7);
      await fallDue(server, 'shop-h');
      await thread.start();
      expect(await thread.drain({ expired: true, reminded: true })).toEqual({ expired: 7, reminded: 0 });

      // A backlog that comes while the last thread is still ending goes to a new one, and that one's end does not fail it.
      await openCases(server, 'shop-h', 6);
      await fallDue(server, 'shop-h');
      const ending = thread.stop();
      expect(await thread.drain({ expired: true, reminded: true })).toEqual({ expired: 6, reminded: 0 });
      await ending;
      expect(expired.reduce((a, b) => a + b, 0)).toBe(25);
    } finally {
      await thread.stop();
    }
    const rows = await decisions(server, 'shop-h');
    expect(rows).toHaveLength(25);
    for (const row of rows) expect(row).toEqual(decidedOnce);
  });

  it('ends at a stop after the slice in progress, and the next start decides the rest, each round once', async () => {
    const dataDir = tempDir();
    const first = await serve({ SWEEP_BATCH: '1' }, dataDir);
    await first.app.backlog!.start();
    await openCases(first, 'shop-c', 40);
    await fallDue(first, 'shop-c');
    const draining = first.app.scheduler.wake();
    await first.app.stop();
    await draining;
    servers.pop();

    await serve({}, dataDir);
    const rows = await decisions(servers[0]!, 'shop-c');
    expect(rows).toHaveLength(40);
    for (const row of rows) expect(row).toEqual(decidedOnce);
  });
});

describe.skipIf(onPostgres)('two threads writing to one SQLite file', () => {
  it('a request’s write waits for the other thread’s transaction without holding up the event loop', async () => {
    const server = await serve();
    const holder = new Worker(new URL('./support/hold-write.mjs', import.meta.url), { workerData: { dataDir: server.dataDir, share: server.app.services.db.share() } });
    const exited = once(holder, 'exit');
    const [said] = (await once(holder, 'message')) as [string];
    expect(said).toBe('holding');

    let answered = false;
    const write = openCase(server, 'shop-d').then((c) => {
      answered = true;
      return c;
    });
    // This thread goes on turning while its write waits: SQLite's own wait would sleep in it.
    await sleep(100);
    expect(answered).toBe(false);
    holder.postMessage('release');
    const opened = await write;
    expect(opened.requestId).toBeTruthy();
    await exited;
    expect(await decisions(server, 'shop-d')).toEqual([{ status: 'AWAITING_MERCHANT_EVIDENCE', round: 'OPEN', expiredLogs: 0, resolvedLogs: 0, expiredMessages: 0 }]);
  });
});
