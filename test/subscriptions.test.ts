import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, it } from 'vitest';
import { REPLAY_BATCH } from '../src/feeds.ts';
import { fixture, openCase, startServer, submitEvidence } from './helpers.ts';
import { bulkyMessageBox, createMessages, messageList, MESSAGE_BOX, resolveCase, type BoxEvent } from './message-box.ts';
import { connect, socketSuite } from './ws-client.ts';

const LOG_ADDED = `subscription Logs($id: ID!) {
  afterSaleLogAdded(afterSaleId: $id) { id action actor actorId summary }
}`;

const suite = socketSuite();
const open = suite.open.bind(suite);

describe('messageBox', () => {
  it('pushes the request, the reminder and the expiry to an open message box as they happen, with cursors and unread counts', async () => {
    // The one end-to-end test on real timers: a 2-second window, reminder 1 second before.
    const timed = await startServer({ EVIDENCE_WINDOW: '2s', REMINDER_LEAD: '1s' });
    const socket = connect(timed.url, await timed.merchantToken('shop-clock'));
    try {
      const token = await timed.merchantToken('shop-clock');
      const box = socket.subscribe(MESSAGE_BOX);
      await socket.roundTrip();
      const { afterSaleId } = await openCase(timed, 'shop-clock');

      const requested = (await box.nextData<BoxEvent>()).messageBox;
      expect(requested).toMatchObject({
        unreadCount: 1,
        message: { kind: 'EVIDENCE_REQUESTED', afterSale: { id: afterSaleId, status: 'AWAITING_MERCHANT_EVIDENCE', resolution: null } },
      });
      const dueSoon = (await box.nextData<BoxEvent>()).messageBox;
      expect(dueSoon).toMatchObject({
        unreadCount: 2,
        message: { kind: 'EVIDENCE_DUE_SOON', afterSale: { id: afterSaleId, status: 'AWAITING_MERCHANT_EVIDENCE' } },
      });

      const read = await timed.gql(token, `mutation($ids: [ID!]!) { markMessagesRead(ids: $ids) }`, {
        ids: [requested.message.id, dueSoon.message.id],
      });
      expect(read.data!.markMessagesRead).toBe(2);

      const expired = (await box.nextData<BoxEvent>()).messageBox;
      expect(expired).toMatchObject({
        unreadCount: 1,
        message: {
          kind: 'EVIDENCE_EXPIRED',
          afterSale: { id: afterSaleId, status: 'RESOLVED', resolution: { outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT' } },
        },
      });

      // Each event's cursor is the one the message list gives for the same message.
      const list = await messageList(timed, token);
      expect(list.map((m) => [m.id, m.cursor])).toEqual([requested, dueSoon, expired].map((e) => [e.message.id, e.cursor]));
    } finally {
      await socket.dispose();
      await timed.stop();
    }
  });

  it('replays what came while the client was away, in order, then goes on live with no gap and no duplicate', async () => {
    const token = await suite.server.merchantToken('shop-away');
    const first = open(token);
    const box = first.subscribe(MESSAGE_BOX);
    await first.roundTrip();
    const one = await openCase(suite.server, 'shop-away');
    const seen = (await box.nextData<BoxEvent>()).messageBox;
    expect(seen.message.kind).toBe('EVIDENCE_REQUESTED');
    await first.dispose();

    const two = await openCase(suite.server, 'shop-away');
    const three = await openCase(suite.server, 'shop-away', { request: false });
    await resolveCase(suite.server, one.afterSaleId);
    await resolveCase(suite.server, three.afterSaleId);
    const missed = (await messageList(suite.server, token)).slice(1);
    expect(missed.map((m) => m.kind)).toEqual(['EVIDENCE_REQUESTED', 'ARBITRATION_RESOLVED', 'ARBITRATION_RESOLVED']);

    const again = open(token);
    const resumed = again.subscribe(MESSAGE_BOX, { after: seen.cursor });
    const replayed = (await resumed.received(missed.length)).map((r) => (r.data as BoxEvent).messageBox);
    expect(replayed.map((e) => [e.message.id, e.cursor, e.unreadCount])).toEqual(missed.map((m) => [m.id, m.cursor, 4]));

    await resolveCase(suite.server, two.afterSaleId);
    const live = (await resumed.nextData<BoxEvent>()).messageBox;
    expect(live).toMatchObject({ unreadCount: 5, message: { kind: 'ARBITRATION_RESOLVED', afterSale: { id: two.afterSaleId, status: 'RESOLVED' } } });
    expect(resumed.results).toHaveLength(missed.length + 1);
  });

  it('misses nothing and repeats nothing when messages are created while a long replay is being sent', async () => {
    const token = await suite.server.merchantToken('shop-busy');
    await createMessages(suite.server, 'shop-busy', 1);
    const [start] = await messageList(suite.server, token);
    // Three replay batches, the last one short even with the first group added; events of about
    // 40 KB, so a paused reader soon fills the socket buffers and the replay waits on it. (With two,
    // the ~8 MB after the pause below could all fit in a loopback socket's autotuned buffers, and
    // the replay ended before the second group committed: seen once in CI.)
    const group = 20;
    const backlog = 3 * REPLAY_BATCH - group - 1;
    await createMessages(suite.server, 'shop-busy', backlog, 2000);

    const socket = open(token);
    const resumed = socket.subscribe(bulkyMessageBox(), { after: start!.cursor });
    // While the first batch is being sent: these are both in the second batch's read and on the live feed.
    await resumed.next();
    socket.pause();
    await createMessages(suite.server, 'shop-busy', group);
    socket.resume();
    // While the later batches are being sent: these come on the live feed only.
    await resumed.received(REPLAY_BATCH + 1, 15_000);
    socket.pause();
    await createMessages(suite.server, 'shop-busy', group);
    socket.resume();

    const expected = (await messageList(suite.server, token)).slice(1);
    expect(expected).toHaveLength(backlog + 2 * group);
    const events = (await resumed.received(expected.length, 15_000)).map((r) => (r.data as BoxEvent).messageBox);
    expect(events.map((e) => e.message.id)).toEqual(expected.map((m) => m.id));
    // unreadCount is counted as an event is sent, so it shows each group was committed while the replay was still going.
    const unreadBefore = backlog + 1;
    const during = (from: number, to: number, unread: number) => events.slice(from, to).some((e) => e.unreadCount === unread);
    expect(during(0, REPLAY_BATCH, unreadBefore + group), 'first group committed while the first batch was being sent').toBe(true);
    expect(during(REPLAY_BATCH, backlog + group, unreadBefore + 2 * group), 'second group committed while the later batches were being sent').toBe(true);

    // A duplicate still on its way would arrive before this new message.
    await createMessages(suite.server, 'shop-busy', 1);
    const next = (await resumed.nextData<BoxEvent>()).messageBox;
    expect(next.message.id).toBe((await messageList(suite.server, token)).at(-1)!.id);
  });

  it('keeps two shops apart: each socket gets its own shop\'s messages only', async () => {
    const a = open(await suite.server.merchantToken('shop-left'));
    const b = open(await suite.server.merchantToken('shop-right'));
    const boxA = a.subscribe(MESSAGE_BOX);
    const boxB = b.subscribe(MESSAGE_BOX);
    await Promise.all([a.roundTrip(), b.roundTrip()]);

    // The other shop's message is created first each time, so a leak would arrive first.
    const right1 = await openCase(suite.server, 'shop-right');
    const left1 = await openCase(suite.server, 'shop-left');
    expect((await boxA.nextData<BoxEvent>()).messageBox.message.afterSale.id).toBe(left1.afterSaleId);
    const left2 = await openCase(suite.server, 'shop-left', { request: false });
    await resolveCase(suite.server, left2.afterSaleId);
    expect((await boxB.nextData<BoxEvent>()).messageBox.message.afterSale.id).toBe(right1.afterSaleId);
    await resolveCase(suite.server, right1.afterSaleId);
    expect((await boxB.nextData<BoxEvent>()).messageBox).toMatchObject({ unreadCount: 2, message: { kind: 'ARBITRATION_RESOLVED', afterSale: { id: right1.afterSaleId } } });
    expect((await boxA.nextData<BoxEvent>()).messageBox).toMatchObject({ unreadCount: 2, message: { afterSale: { id: left2.afterSaleId } } });
  });

  it('is refused to the platform role with FORBIDDEN', async () => {
    const socket = open(suite.platform);
    const errors = await socket.subscribe(MESSAGE_BOX).errors();
    expect(errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});

describe('afterSaleLogAdded', () => {
  it('pushes the EVIDENCE_SUBMITTED line, naming the file\'s SHA-256, to the merchant and to the platform', async () => {
    const merchant = await suite.server.merchantToken('shop-logs');
    const { afterSaleId, requestId } = await openCase(suite.server, 'shop-logs');
    const mine = open(merchant);
    const theirs = open(suite.platform);
    const merchantLogs = mine.subscribe(LOG_ADDED, { id: afterSaleId });
    const platformLogs = theirs.subscribe(LOG_ADDED, { id: afterSaleId });
    await Promise.all([mine.roundTrip(), theirs.roundTrip()]);

    const { body } = await submitEvidence(suite.server, merchant, { evidenceRequestId: requestId!, explanation: 'Packed and sealed' }, [
      { content: fixture('waybill.pdf'), name: 'waybill.pdf' },
    ]);
    expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    const sha256 = createHash('sha256').update(fs.readFileSync(fixture('waybill.pdf'))).digest('hex');

    for (const feed of [merchantLogs, platformLogs]) {
      const line = (await feed.nextData()).afterSaleLogAdded;
      expect(line).toMatchObject({ action: 'EVIDENCE_SUBMITTED', actor: 'MERCHANT', actorId: 'shop-logs-staff' });
      expect(line.summary).toContain(sha256);
    }

    await resolveCase(suite.server, afterSaleId);
    for (const feed of [merchantLogs, platformLogs]) {
      expect((await feed.nextData()).afterSaleLogAdded).toMatchObject({ action: 'ARBITRATION_RESOLVED', actor: 'PLATFORM' });
    }
  });

  it('lets the platform follow any shop\'s after-sale', async () => {
    const { afterSaleId, requestId } = await openCase(suite.server, 'shop-watched');
    const socket = open(suite.platform);
    const logs = socket.subscribe(LOG_ADDED, { id: afterSaleId });
    await socket.roundTrip();
    const cancelled = await suite.server.gql(suite.platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: requestId });
    expect(cancelled.data!.cancelEvidenceRequest.__typename).toBe('CancelEvidenceRequestPayload');
    expect((await logs.nextData()).afterSaleLogAdded).toMatchObject({ action: 'EVIDENCE_REQUEST_CANCELLED', actor: 'PLATFORM', actorId: 'agent-1' });
  });

  it('answers another shop\'s after-sale exactly like one that does not exist, and pushes it nothing', async () => {
    const other = await openCase(suite.server, 'shop-private');
    const socket = open(await suite.server.merchantToken('shop-nosy'));
    const foreign = socket.subscribe(LOG_ADDED, { id: other.afterSaleId });
    const unknown = socket.subscribe(LOG_ADDED, { id: encodeGlobalID('AfterSale', 987654) });
    const malformed = socket.subscribe(LOG_ADDED, { id: 'not-an-id' });
    const [foreignErrors, unknownErrors, malformedErrors] = await Promise.all([foreign.errors(), unknown.errors(), malformed.errors()]);
    expect(foreignErrors).toEqual(unknownErrors);
    expect(malformedErrors).toEqual(unknownErrors);
    expect(unknownErrors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);

    // The refused subscription stays closed: the owner's next log line is not pushed to it.
    await resolveCase(suite.server, other.afterSaleId);
    await socket.roundTrip();
    expect(foreign.results.filter((r) => r.data)).toEqual([]);
  });
});
