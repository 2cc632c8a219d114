import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, storedFiles, submitEvidence, type TestServer } from './helpers.ts';

const HOUR = 3_600_000;
const clock = new FakeClock();
let server: TestServer;
let merchant: string;
const photo = { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' };

beforeAll(async () => {
  // The safety sweep is slowed down so that a round can be past due but not yet expired.
  server = await startServer({ SWEEP_INTERVAL: '1h' }, { clock });
  merchant = await server.merchantToken('shop-a');
});
afterAll(() => server.stop());

async function roundState(requestId: string) {
  const res = await server.gql(await server.platformToken(), `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status submission { id } afterSale { status } } } }`, { id: requestId });
  return res.data.node;
}

describe('submitEvidence refusals store nothing', () => {
  it('answers NotFoundError for another shop\'s round and for an id that names nothing', async () => {
    const { requestId } = await openCase(server, 'shop-b');
    const before = storedFiles(server.dataDir);
    for (const id of [requestId!, 'RXZpZGVuY2VSZXF1ZXN0Ojk5OTk5', 'garbage', Buffer.from('AfterSale:1').toString('base64')]) {
      const { body } = await submitEvidence(server, merchant, { evidenceRequestId: id, explanation: 'Mine now' }, [photo]);
      expect(body.data.submitEvidence.__typename).toBe('NotFoundError');
    }
    expect(await roundState(requestId!)).toEqual({ status: 'OPEN', submission: null, afterSale: { status: 'AWAITING_MERCHANT_EVIDENCE' } });
    expect(storedFiles(server.dataDir)).toEqual(before);
  });

  it('answers EvidenceRequestClosedError for a round already answered or cancelled', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    expect((await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'First' }, [photo])).body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    const second = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Second' }, [photo]);
    expect(second.body.data.submitEvidence).toMatchObject({ __typename: 'EvidenceRequestClosedError', status: 'SUBMITTED' });

    const cancelled = await openCase(server, 'shop-a');
    await server.gql(await server.platformToken(), `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: cancelled.requestId });
    const late = await submitEvidence(server, merchant, { evidenceRequestId: cancelled.requestId!, explanation: 'Too late' }, [photo]);
    expect(late.body.data.submitEvidence).toMatchObject({ __typename: 'EvidenceRequestClosedError', status: 'CANCELLED' });
  });

  it('answers DeadlinePassedError on an open round past its dueAt, then EvidenceRequestClosedError once it expired', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    // The server's scheduler waits until the test sweeps: past dueAt, the round is OPEN until then.
    await server.app.scheduler.stop();
    clock.advance(24 * HOUR);
    const before = storedFiles(server.dataDir);
    const res = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Just in time?' }, [photo]);
    expect(res.body.data.submitEvidence.__typename).toBe('DeadlinePassedError');
    expect(await roundState(requestId!)).toMatchObject({ status: 'OPEN', submission: null });
    expect(storedFiles(server.dataDir)).toEqual(before);
    await server.app.scheduler.drain();
    await server.app.scheduler.start();
    const after = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Just in time?' }, [photo]);
    expect(after.body.data.submitEvidence).toMatchObject({ __typename: 'EvidenceRequestClosedError', status: 'EXPIRED' });
  });

  it('answers InvalidInputError naming the field for the explanation\'s length and the number of files', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const cases: [string, unknown[], string][] = [
      [' x ', [photo], 'explanation'],
      ['y'.repeat(2001), [photo], 'explanation'],
      ['Fine', [], 'files'],
      ['Fine', Array.from({ length: 10 }, () => ({ content: fixture('label.gif'), name: 'label.gif' })), 'files'],
    ];
    for (const [explanation, files, field] of cases) {
      const res = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation }, files as any);
      expect(res.body.data.submitEvidence).toMatchObject({ __typename: 'InvalidInputError', field });
    }
    expect(await roundState(requestId!)).toMatchObject({ status: 'OPEN', submission: null });
    const ok = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'ok' + 'z'.repeat(1998) }, [photo]);
    expect(ok.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
  });

  it('answers FileRejectedError EMPTY for an empty file', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const res = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Empty one' }, [photo, { content: Buffer.alloc(0), name: 'blank.jpg' }]);
    expect(res.body.data.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: 'blank.jpg', reason: 'EMPTY' });
  });

  it('is for merchants only', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const res = await submitEvidence(server, await server.platformToken(), { evidenceRequestId: requestId!, explanation: 'Agent tries' }, [photo]);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await roundState(requestId!)).toMatchObject({ status: 'OPEN' });
  });
});

describe('message box over HTTP', () => {
  it('lists messages newest first, counts unread, and marks only the own shop\'s messages read', async () => {
    const shop = await server.merchantToken('shop-m');
    const other = await server.merchantToken('shop-n');
    for (let i = 0; i < 3; i++) await openCase(server, 'shop-m');
    await openCase(server, 'shop-n');
    const list = await server.gql(shop, `{ unreadMessageCount messages(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { id kind readAt } } } }`);
    expect(list.data.unreadMessageCount).toBe(3);
    expect(list.data.messages.totalCount).toBe(3);
    const [newest, second] = list.data.messages.edges.map((e: any) => e.node);
    expect(newest.kind).toBe('EVIDENCE_REQUESTED');
    const more = await server.gql(shop, `query($after: String) { messages(first: 2, after: $after) { pageInfo { hasNextPage } edges { node { id } } } }`, { after: list.data.messages.pageInfo.endCursor });
    expect(more.data.messages.edges).toHaveLength(1);
    expect(more.data.messages.pageInfo.hasNextPage).toBe(false);

    const theirs = (await server.gql(other, `{ messages { edges { node { id } } } }`)).data.messages.edges[0].node.id;
    const mark = `mutation($ids: [ID!]!) { markMessagesRead(ids: $ids) }`;
    expect((await server.gql(shop, mark, { ids: [newest.id, second.id, theirs, 'nonsense'] })).data.markMessagesRead).toBe(2);
    expect((await server.gql(shop, mark, { ids: [newest.id] })).data.markMessagesRead).toBe(0);
    const after = await server.gql(shop, `{ unreadMessageCount messages(unreadOnly: true) { totalCount edges { node { readAt } } } }`);
    expect(after.data.unreadMessageCount).toBe(1);
    expect(after.data.messages.edges).toEqual([{ node: { readAt: null } }]);
    expect((await server.gql(other, `{ unreadMessageCount }`)).data.unreadMessageCount).toBe(1);
  });
});
