import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../src/db/open.ts';
import { databaseUrlFor } from './stored.ts';
import { createEvents } from '../src/events.ts';
import { Foreground } from '../src/jobs/foreground.ts';
import { DeadlineScheduler } from '../src/jobs/scheduler.ts';
import { FakeClock, fixture, openCase, startServer, submitEvidence, tempDir, type TestServer } from './helpers.ts';

const HOUR = 3_600_000;
const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.stop();
});

async function serverWith(clock: FakeClock, env: Record<string, string> = {}, dataDir?: string, sweepsByTest = false) {
  // The safety sweep is slowed down; where the test counts what each sweep did, the app's scheduler is
  // stopped as well (its exact timer would sweep too once the clock jumps), and only the test sweeps.
  const server = await startServer({ SWEEP_INTERVAL: '1h', ...env }, { clock, dataDir, sweepsByTest });
  servers.push(server);
  return server;
}

const HISTORY = `query($id: ID!) { afterSale(id: $id) {
  status resolution { outcome decidedBy }
  evidenceRequest { status remindedAt submission { id } }
  logs(first: 100) { edges { node { action actor } } } } }`;
const MESSAGES = `{ messages(first: 100) { edges { node { kind afterSale { id } } } } }`;

async function history(server: TestServer, token: string, afterSaleId: string) {
  const res = await server.gql(token, HISTORY, { id: afterSaleId });
  const msgs = await server.gql(token, MESSAGES);
  return {
    ...res.data.afterSale,
    actions: res.data.afterSale.logs.edges.map((e: any) => e.node.action),
    messages: msgs.data.messages.edges.filter((e: any) => e.node.afterSale.id === afterSaleId).map((e: any) => e.node.kind).reverse(),
  };
}

describe('deadline scheduler with an injected clock', () => {
  it('reminds once when less than 12 hours are left, then expires once at the deadline for the buyer', async () => {
    const clock = new FakeClock();
    const server = await serverWith(clock, {}, undefined, true);
    const merchant = await server.merchantToken('shop-a');
    const { afterSaleId } = await openCase(server, 'shop-a');

    clock.advance(12 * HOUR); // exactly 12h left: not yet "under 12 hours"
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 0, reminded: 0 });
    clock.advance(1);
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 0, reminded: 1 });
    clock.advance(HOUR);
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 0, reminded: 0 });
    let h = await history(server, merchant, afterSaleId);
    expect(h.actions.slice(-2)).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_REMINDER_SENT']);
    expect(h.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON']);

    clock.advance(11 * HOUR - 2); // 1 ms before the deadline
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 0, reminded: 0 });
    clock.advance(1);
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 1, reminded: 0 });
    expect(await server.app.scheduler.sweepOnce()).toEqual({ expired: 0, reminded: 0 });
    h = await history(server, merchant, afterSaleId);
    expect(h.status).toBe('RESOLVED');
    expect(h.resolution).toEqual({ outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT' });
    expect(h.evidenceRequest.status).toBe('EXPIRED');
    expect(h.actions.slice(-3)).toEqual(['EVIDENCE_REMINDER_SENT', 'EVIDENCE_EXPIRED', 'ARBITRATION_RESOLVED']);
    expect(h.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON', 'EVIDENCE_EXPIRED']);
  });

  it('catches up at start on what fell due while it was down, and sends no late reminder to an expired round', async () => {
    const clock = new FakeClock();
    const dataDir = tempDir();
    const first = await serverWith(clock, {}, dataDir);
    const expiredWhileDown = await openCase(first, 'shop-a');
    clock.advance(6 * HOUR);
    const remindedWhileDown = await openCase(first, 'shop-a');
    await first.app.stop();
    servers.pop();

    clock.advance(20 * HOUR); // the first round is 2h past due, the second has 4h left
    const second = await serverWith(clock, {}, dataDir);
    const merchant = await second.merchantToken('shop-a');
    const a = await history(second, merchant, expiredWhileDown.afterSaleId);
    expect(a.evidenceRequest).toMatchObject({ status: 'EXPIRED', remindedAt: null });
    expect(a.actions.filter((x: string) => x.startsWith('EVIDENCE_') || x === 'ARBITRATION_RESOLVED')).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_EXPIRED', 'ARBITRATION_RESOLVED']);
    expect(a.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_EXPIRED']);
    const b = await history(second, merchant, remindedWhileDown.afterSaleId);
    expect(b.evidenceRequest.status).toBe('OPEN');
    expect(b.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON']);
  });

  it('sends each reminder and expiry once when two schedulers share one database', async () => {
    const clock = new FakeClock();
    const server = await serverWith(clock, {}, undefined, true);
    const merchant = await server.merchantToken('shop-a');
    const cases = [];
    for (let i = 0; i < 30; i++) cases.push(await openCase(server, 'shop-a'));
    // One scheduler on the app's connections, one on a second connection of its own.
    const ours = new DeadlineScheduler(server.app.services.db, createEvents(), clock, { reminderLeadMs: 12 * HOUR, sweepIntervalMs: HOUR });
    const otherDb = await openDatabase((await databaseUrlFor(server.dataDir)) ?? null, server.dataDir);
    const other = new DeadlineScheduler(otherDb, createEvents(), clock, { reminderLeadMs: 12 * HOUR, sweepIntervalMs: HOUR, batchSize: 7 });
    try {
      clock.advance(13 * HOUR);
      const counts = [];
      for (const scheduler of [ours, other, ours, other, other, other, other]) counts.push(await scheduler.sweepOnce());
      expect(counts.reduce((n, c) => n + c.reminded, 0)).toBe(30);
      clock.advance(12 * HOUR);
      const [x, y] = await Promise.all([ours.drain(), other.drain()]);
      expect(x.expired + y.expired).toBe(30);
    } finally {
      await otherDb.close();
    }
    for (const c of cases) {
      const h = await history(server, merchant, c.afterSaleId);
      expect(h.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON', 'EVIDENCE_EXPIRED']);
      expect(h.actions.filter((a: string) => a === 'EVIDENCE_EXPIRED')).toHaveLength(1);
    }
  });

  it('decides a submission racing the expiry exactly once, whichever commits first', async () => {
    const clock = new FakeClock();
    const server = await serverWith(clock);
    const merchant = await server.merchantToken('shop-a');
    // Each wave: four rounds with 1 ms left, four uploads in flight, and the
    // clock jumps to the deadline with a sweep at a different moment: before
    // any upload could commit, after all did, or somewhere in between.
    const jumps: (number | 'after')[] = [0, 'after', 1, 2, 3, 5, 8, 13];
    const results: { afterSaleId: string; outcome: string }[] = [];
    for (const jump of jumps) {
      const wave = [];
      for (let i = 0; i < 4; i++) wave.push(await openCase(server, 'shop-a'));
      const dueAt = clock.now() + 24 * HOUR;
      clock.ms = dueAt - 1;
      const uploads = wave.map((c, i) =>
        submitEvidence(server, merchant, { evidenceRequestId: c.requestId!, explanation: 'Racing the clock' }, [
          { content: fixture(i % 2 ? 'parcel-photo.jpg' : 'unboxing.mp4'), name: 'evidence' },
        ]),
      );
      if (jump === 'after') await Promise.all(uploads);
      else if (jump > 0) await new Promise((r) => setTimeout(r, jump));
      clock.ms = dueAt;
      await server.app.scheduler.sweepOnce();
      const answers = await Promise.all(uploads);
      wave.forEach((c, i) => results.push({ afterSaleId: c.afterSaleId, outcome: answers[i]!.body.data.submitEvidence.__typename }));
      clock.advance(HOUR);
    }
    await server.app.scheduler.drain();
    for (const { afterSaleId, outcome } of results) {
      const h = await history(server, merchant, afterSaleId);
      if (outcome === 'SubmitEvidencePayload') {
        expect(h.status).toBe('EVIDENCE_SUBMITTED');
        expect(h.evidenceRequest.status).toBe('SUBMITTED');
        expect(h.actions).not.toContain('EVIDENCE_EXPIRED');
        expect(h.messages).not.toContain('EVIDENCE_EXPIRED');
      } else {
        expect(['DeadlinePassedError', 'EvidenceRequestClosedError']).toContain(outcome);
        expect(h.status).toBe('RESOLVED');
        expect(h.evidenceRequest).toMatchObject({ status: 'EXPIRED', submission: null });
        expect(h.actions.filter((a: string) => a === 'EVIDENCE_EXPIRED')).toHaveLength(1);
        expect(h.actions).not.toContain('EVIDENCE_SUBMITTED');
      }
    }
    const submitted = results.filter((r) => r.outcome === 'SubmitEvidencePayload').length;
    // The first wave cannot have committed, the second must have: both outcomes occurred.
    expect(submitted).toBeGreaterThanOrEqual(4);
    expect(submitted).toBeLessThanOrEqual(results.length - 4);
  });

  it('drains a backlog in batches, yielding between them', async () => {
    const clock = new FakeClock();
    const dataDir = tempDir();
    const server = await serverWith(clock, {}, dataDir);
    for (let i = 0; i < 25; i++) await openCase(server, 'shop-b');
    // Only the scheduler under test sweeps: the server's own would take the due rounds as soon as the clock moves.
    await server.app.scheduler.stop();
    clock.advance(25 * HOUR);
    const small = new DeadlineScheduler(server.app.services.db, createEvents(), clock, { reminderLeadMs: 12 * HOUR, sweepIntervalMs: HOUR, batchSize: 10 });
    expect(await small.sweepOnce()).toEqual({ expired: 10, reminded: 0 });
    expect(await small.drain()).toEqual({ expired: 15, reminded: 0 });
    const merchant = await server.merchantToken('shop-b');
    const res = await server.gql(merchant, `{ awaitingEvidence { totalCount } unreadMessageCount }`);
    expect(res.data).toEqual({ awaitingEvidence: { totalCount: 0 }, unreadMessageCount: 50 });
  });
});

describe('a backlog beside requests', () => {
  async function backlog(merchantId: string) {
    const clock = new FakeClock();
    const server = await serverWith(clock);
    for (let i = 0; i < 25; i++) await openCase(server, merchantId);
    // Only the scheduler under test sweeps: the server's own would take the due rounds as soon as the clock moves.
    await server.app.scheduler.stop();
    clock.advance(25 * HOUR);
    const awaiting = async () => (await server.gql(await server.merchantToken(merchantId), `{ awaitingEvidence { totalCount } }`)).data.awaitingEvidence.totalCount;
    return { clock, server, awaiting };
  }

  it('waits between slices while a request is in progress, and goes on once it ends', async () => {
    const { clock, server, awaiting } = await backlog('shop-f');
    const foreground = new Foreground();
    const scheduler = new DeadlineScheduler(server.app.services.db, createEvents(), clock, {
      reminderLeadMs: 12 * HOUR,
      sweepIntervalMs: HOUR,
      batchSize: 10,
      between: () => foreground.quiet(60_000),
    });
    const endRequest = foreground.begin();
    const drained = scheduler.drain();
    // One slice, then it steps aside: still so a while later.
    await vi.waitFor(async () => expect(await awaiting()).toBe(15), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await awaiting()).toBe(15);
    endRequest();
    expect(await drained).toEqual({ expired: 25, reminded: 0 });
    expect(await awaiting()).toBe(0);
  });

  it('still drains when requests never stop: each wait is bounded', async () => {
    const { clock, server, awaiting } = await backlog('shop-g');
    const foreground = new Foreground();
    foreground.begin(); // a request that never ends
    const scheduler = new DeadlineScheduler(server.app.services.db, createEvents(), clock, {
      reminderLeadMs: 12 * HOUR,
      sweepIntervalMs: HOUR,
      batchSize: 10,
      between: () => foreground.quiet(20),
    });
    expect(await scheduler.drain()).toEqual({ expired: 25, reminded: 0 });
    expect(await awaiting()).toBe(0);
  });
});

describe('deadline scheduler on real timers', () => {
  it('expires a round with a short window without anyone asking', async () => {
    const server = await startServer({ EVIDENCE_WINDOW: '1500ms', REMINDER_LEAD: '1s' });
    servers.push(server);
    const merchant = await server.merchantToken('shop-t');
    const { afterSaleId } = await openCase(server, 'shop-t');
    let h;
    for (let i = 0; i < 50; i++) {
      h = await history(server, merchant, afterSaleId);
      if (h.status === 'RESOLVED') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(h!.messages).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_DUE_SOON', 'EVIDENCE_EXPIRED']);
    expect(h!.resolution).toEqual({ outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT' });
  });
});
