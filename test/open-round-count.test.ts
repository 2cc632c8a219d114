import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, submitEvidence, type TestServer } from './helpers.ts';

/**
 * The workbench's unfiltered totalCount reads the count of open rounds the rules keep per shop
 * (merchants.open_rounds); a filtered one counts the rounds. Both must agree after every rule that
 * opens or closes a round: asking, answering, withdrawing, expiring, asking again.
 */
const HOUR = 3_600_000;
const clock = new FakeClock();
let server: TestServer;
let shopA: string;
let shopB: string;
let platform: string;

const COUNTS = `query { kept: awaitingEvidence(first: 1) { totalCount } counted: awaitingEvidence(first: 1, filter: { dueWithinHours: 8784 }) { totalCount } }`;

async function counts(token: string): Promise<{ kept: number; counted: number }> {
  const res = await server.gql(token, COUNTS);
  expect(res.errors).toBeUndefined();
  return { kept: res.data.kept.totalCount, counted: res.data.counted.totalCount };
}

beforeAll(async () => {
  // Only the test sweeps: it counts what its sweep expired.
  server = await startServer({ SWEEP_INTERVAL: '1h' }, { clock, sweepsByTest: true });
  shopA = await server.merchantToken('shop-a');
  shopB = await server.merchantToken('shop-b');
  platform = await server.platformToken();
});
afterAll(() => server.stop());

describe('the kept count of open rounds', () => {
  it('follows asking, answering, withdrawing, expiring and asking again, shop by shop', async () => {
    expect(await counts(shopA)).toEqual({ kept: 0, counted: 0 });
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await openCase(server, 'shop-a'));
    await openCase(server, 'shop-b');
    expect(await counts(shopA)).toEqual({ kept: 4, counted: 4 });
    expect(await counts(shopB)).toEqual({ kept: 1, counted: 1 });

    const answered = await submitEvidence(server, shopA, { evidenceRequestId: a[0]!.requestId!, explanation: 'Here it is' }, [{ content: fixture('label.gif'), name: 'label.gif' }]);
    expect(answered.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(await counts(shopA)).toEqual({ kept: 3, counted: 3 });

    // A second answer to the same round is refused and changes no count.
    const again = await submitEvidence(server, shopA, { evidenceRequestId: a[0]!.requestId!, explanation: 'Once more' }, [{ content: fixture('label.gif'), name: 'label.gif' }]);
    expect(again.body.data.submitEvidence).toMatchObject({ __typename: 'EvidenceRequestClosedError', status: 'SUBMITTED' });
    expect(await counts(shopA)).toEqual({ kept: 3, counted: 3 });

    const cancelled = await server.gql(platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: a[1]!.requestId });
    expect(cancelled.errors).toBeUndefined();
    expect(await counts(shopA)).toEqual({ kept: 2, counted: 2 });

    // Past the 24 h window the sweep expires the rest of both shops' rounds.
    clock.advance(25 * HOUR);
    expect(await server.app.scheduler.sweepOnce()).toMatchObject({ expired: 3 });
    expect(await counts(shopA)).toEqual({ kept: 0, counted: 0 });
    expect(await counts(shopB)).toEqual({ kept: 0, counted: 0 });

    // Asked again after the answer was read: one open round again.
    const asked = await server.gql(platform, `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) { __typename } }`, {
      input: { afterSaleId: a[0]!.afterSaleId, instructions: 'One more photo, please' },
    });
    expect(asked.errors).toBeUndefined();
    expect(await counts(shopA)).toEqual({ kept: 1, counted: 1 });
    expect(await counts(shopB)).toEqual({ kept: 0, counted: 0 });
  });

  it('stays exact when many rounds of one shop open and close at the same time', async () => {
    const shopC = await server.merchantToken('shop-c');
    const opened = await Promise.all(Array.from({ length: 12 }, () => openCase(server, 'shop-c')));
    expect(await counts(shopC)).toEqual({ kept: 12, counted: 12 });

    // Half answered and half withdrawn, all at once, with a sweep beside them that finds nothing due.
    const [answers, withdrawals] = [opened.slice(0, 6), opened.slice(6)];
    const results = await Promise.all([
      ...answers.map((c) => submitEvidence(server, shopC, { evidenceRequestId: c.requestId!, explanation: 'Photos attached' }, [{ content: fixture('label.gif'), name: 'label.gif' }])),
      ...withdrawals.map((c) => server.gql(platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: c.requestId })),
      server.app.scheduler.sweepOnce(),
    ]);
    expect(results.slice(0, 6).map((r) => (r as { body: { data: any } }).body.data.submitEvidence.__typename)).toEqual(Array(6).fill('SubmitEvidencePayload'));
    expect(results.slice(6, 12).map((r) => (r as { errors?: unknown }).errors)).toEqual(Array(6).fill(undefined));
    expect(await counts(shopC)).toEqual({ kept: 0, counted: 0 });
  });
});
