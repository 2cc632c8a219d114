import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, submitEvidence, type TestServer } from './helpers.ts';

const clock = new FakeClock();
let server: TestServer;
let platform: string;
let merchant: string;

const RECORD = `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) {
  __typename ... on Error { message } ... on InvalidInputError { field }
  ... on RecordAfterSalePayload { created afterSale { id number status reason amountCents appliedAt logs { edges { node { action actor } } } } } } }`;
const REQUEST = `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) {
  __typename ... on Error { message } ... on InvalidStateError { status } ... on InvalidInputError { field }
  ... on RequestEvidencePayload { evidenceRequest { id status requestedAt dueAt remindedAt instructions afterSale { status } } } } }`;
const CANCEL = `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) {
  __typename ... on Error { message } ... on InvalidStateError { status }
  ... on CancelEvidenceRequestPayload { evidenceRequest { status secondsRemaining afterSale { status } } } } }`;
const RESOLVE = `mutation($input: ResolveArbitrationInput!) { resolveArbitration(input: $input) {
  __typename ... on Error { message } ... on InvalidStateError { status }
  ... on ResolveArbitrationPayload { afterSale { status resolution { outcome decidedBy decidedAt opinion } evidenceRequests { status } } } } }`;
const DETAIL = `query($id: ID!) { afterSale(id: $id) { status logs(first: 100) { edges { node { action actor actorId } } } } messages(first: 100) { edges { node { kind afterSale { id } } } } }`;

const input = (number: string, merchantId = 'shop-p') => ({
  merchantId, number, orderNumber: `OD${number}`, type: 'RETURN_AND_REFUND', reason: ' Wrong colour ', buyerClaim: 'Not as pictured', amountCents: 15900,
});

beforeAll(async () => {
  server = await startServer({}, { clock });
  platform = await server.platformToken('agent-7');
  merchant = await server.merchantToken('shop-p');
});
afterAll(() => server.stop());

describe('recordAfterSale', () => {
  it('stores an escalated after-sale as PLATFORM_INTERVENING with its first log lines', async () => {
    const res = await server.gql(platform, RECORD, { input: input('P1') });
    const payload = res.data.recordAfterSale;
    expect(payload).toMatchObject({ __typename: 'RecordAfterSalePayload', created: true });
    expect(payload.afterSale).toMatchObject({ number: 'P1', status: 'PLATFORM_INTERVENING', reason: 'Wrong colour', amountCents: 15900, appliedAt: new Date(clock.now()).toISOString() });
    expect(payload.afterSale.logs.edges.map((e: any) => e.node)).toEqual([
      { action: 'APPLIED', actor: 'BUYER' },
      { action: 'PLATFORM_INTERVENED', actor: 'PLATFORM' },
    ]);
  });

  it('returns the stored after-sale unchanged for the same number, and refuses it under another merchant', async () => {
    const first = await server.gql(platform, RECORD, { input: input('P2') });
    const again = await server.gql(platform, RECORD, { input: { ...input('P2'), amountCents: 1 } });
    expect(again.data.recordAfterSale.created).toBe(false);
    expect(again.data.recordAfterSale.afterSale).toEqual(first.data.recordAfterSale.afterSale);
    const other = await server.gql(platform, RECORD, { input: input('P2', 'shop-q') });
    expect(other.data.recordAfterSale).toMatchObject({ __typename: 'InvalidInputError', field: 'number' });
  });

  it('refuses bad input with the field named, and merchants with FORBIDDEN', async () => {
    expect((await server.gql(platform, RECORD, { input: { ...input('P3'), amountCents: -5 } })).data.recordAfterSale).toMatchObject({ field: 'amountCents' });
    expect((await server.gql(platform, RECORD, { input: { ...input('P3'), number: '../x' } })).data.recordAfterSale).toMatchObject({ field: 'number' });
    expect((await server.gql(platform, RECORD, { input: { ...input('P3'), reason: '   ' } })).data.recordAfterSale).toMatchObject({ field: 'reason' });
    const forbidden = await server.gql(merchant, RECORD, { input: input('P3') });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('requestEvidence', () => {
  it('opens a round due in 24 hours, logs it and tells the merchant', async () => {
    const { afterSaleId } = await openCase(server, 'shop-p', { request: false });
    const res = await server.gql(platform, REQUEST, { input: { afterSaleId, instructions: '  请提供开箱视频  ' } });
    const round = res.data.requestEvidence.evidenceRequest;
    expect(round).toMatchObject({ status: 'OPEN', instructions: '请提供开箱视频', remindedAt: null, afterSale: { status: 'AWAITING_MERCHANT_EVIDENCE' } });
    expect(Date.parse(round.dueAt) - Date.parse(round.requestedAt)).toBe(24 * 3_600_000);
    const detail = await server.gql(merchant, DETAIL, { id: afterSaleId });
    expect(detail.data.afterSale.logs.edges.at(-1).node).toEqual({ action: 'EVIDENCE_REQUESTED', actor: 'PLATFORM', actorId: 'agent-7' });
    const mine = detail.data.messages.edges.filter((e: any) => e.node.afterSale.id === afterSaleId).map((e: any) => e.node.kind);
    expect(mine).toEqual(['EVIDENCE_REQUESTED']);
  });

  it('refuses a second round while one is open, an unknown after-sale and empty instructions', async () => {
    const { afterSaleId } = await openCase(server, 'shop-p');
    expect((await server.gql(platform, REQUEST, { input: { afterSaleId, instructions: 'again' } })).data.requestEvidence).toMatchObject({
      __typename: 'InvalidStateError', status: 'AWAITING_MERCHANT_EVIDENCE',
    });
    const unknown = Buffer.from('AfterSale:424242').toString('base64');
    expect((await server.gql(platform, REQUEST, { input: { afterSaleId: unknown, instructions: 'x' } })).data.requestEvidence.__typename).toBe('NotFoundError');
    const fresh = await openCase(server, 'shop-p', { request: false });
    expect((await server.gql(platform, REQUEST, { input: { afterSaleId: fresh.afterSaleId, instructions: ' \n ' } })).data.requestEvidence).toMatchObject({
      __typename: 'InvalidInputError', field: 'instructions',
    });
  });

  it('asks again after a submission: a second round, listed after the first', async () => {
    const { afterSaleId, requestId } = await openCase(server, 'shop-p');
    const submitted = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Here it is' }, [{ content: fixture('label.gif'), name: 'label.gif' }]);
    expect(submitted.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    const again = await server.gql(platform, REQUEST, { input: { afterSaleId, instructions: 'Also the waybill' } });
    expect(again.data.requestEvidence.__typename).toBe('RequestEvidencePayload');
    const rounds = await server.gql(merchant, `query($id: ID!) { afterSale(id: $id) { status evidenceRequest { id } evidenceRequests { id status submission { id } } } }`, { id: afterSaleId });
    const a = rounds.data.afterSale;
    expect(a.status).toBe('AWAITING_MERCHANT_EVIDENCE');
    expect(a.evidenceRequests.map((r: any) => r.status)).toEqual(['SUBMITTED', 'OPEN']);
    expect(a.evidenceRequest.id).toBe(again.data.requestEvidence.evidenceRequest.id);
    expect(a.evidenceRequests[0].id).toBe(requestId);
  });
});

describe('cancelEvidenceRequest', () => {
  it('withdraws an open round without a message, and refuses to do it twice', async () => {
    const { afterSaleId, requestId } = await openCase(server, 'shop-p');
    const res = await server.gql(platform, CANCEL, { id: requestId });
    expect(res.data.cancelEvidenceRequest.evidenceRequest).toEqual({ status: 'CANCELLED', secondsRemaining: 0, afterSale: { status: 'PLATFORM_INTERVENING' } });
    const detail = await server.gql(merchant, DETAIL, { id: afterSaleId });
    expect(detail.data.afterSale.logs.edges.at(-1).node.action).toBe('EVIDENCE_REQUEST_CANCELLED');
    expect(detail.data.messages.edges.filter((e: any) => e.node.afterSale.id === afterSaleId).map((e: any) => e.node.kind)).toEqual(['EVIDENCE_REQUESTED']);
    expect((await server.gql(platform, CANCEL, { id: requestId })).data.cancelEvidenceRequest).toMatchObject({ __typename: 'InvalidStateError', status: 'PLATFORM_INTERVENING' });
  });
});

describe('resolveArbitration', () => {
  it('cancels the open round, resolves for the platform\'s outcome, logs and tells the merchant; then takes no further step', async () => {
    const { afterSaleId, requestId } = await openCase(server, 'shop-p');
    const res = await server.gql(platform, RESOLVE, { input: { afterSaleId, outcome: 'MERCHANT_FAVORED', opinion: 'Evidence is clear' } });
    expect(res.data.resolveArbitration.afterSale).toEqual({
      status: 'RESOLVED',
      resolution: { outcome: 'MERCHANT_FAVORED', decidedBy: 'PLATFORM', decidedAt: new Date(clock.now()).toISOString(), opinion: 'Evidence is clear' },
      evidenceRequests: [{ status: 'CANCELLED' }],
    });
    const detail = await server.gql(merchant, DETAIL, { id: afterSaleId });
    expect(detail.data.afterSale.logs.edges.slice(-2).map((e: any) => e.node.action)).toEqual(['EVIDENCE_REQUEST_CANCELLED', 'ARBITRATION_RESOLVED']);
    expect(detail.data.messages.edges.find((e: any) => e.node.afterSale.id === afterSaleId).node.kind).toBe('ARBITRATION_RESOLVED');

    expect((await server.gql(platform, RESOLVE, { input: { afterSaleId, outcome: 'BUYER_FAVORED' } })).data.resolveArbitration).toMatchObject({ __typename: 'InvalidStateError', status: 'RESOLVED' });
    expect((await server.gql(platform, REQUEST, { input: { afterSaleId, instructions: 'more' } })).data.requestEvidence).toMatchObject({ __typename: 'InvalidStateError', status: 'RESOLVED' });
    expect((await server.gql(platform, CANCEL, { id: requestId })).data.cancelEvidenceRequest.__typename).toBe('InvalidStateError');
    const late = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Too late?' }, [{ content: fixture('label.gif'), name: 'label.gif' }]);
    expect(late.body.data.submitEvidence).toMatchObject({ __typename: 'EvidenceRequestClosedError', status: 'CANCELLED' });
  });
});

describe('a window no longer than the reminder lead', () => {
  it('sends the due-soon reminder at once with the request', async () => {
    const short = await startServer({ EVIDENCE_WINDOW: '1h', REMINDER_LEAD: '2h' }, { clock });
    try {
      const { afterSaleId } = await openCase(short, 'shop-s');
      const token = await short.merchantToken('shop-s');
      const detail = await short.gql(token, DETAIL, { id: afterSaleId });
      expect(detail.data.afterSale.logs.edges.slice(-2).map((e: any) => e.node.action)).toEqual(['EVIDENCE_REQUESTED', 'EVIDENCE_REMINDER_SENT']);
      expect(detail.data.messages.edges.map((e: any) => e.node.kind)).toEqual(['EVIDENCE_DUE_SOON', 'EVIDENCE_REQUESTED']);
    } finally {
      await short.stop();
    }
  });
});
