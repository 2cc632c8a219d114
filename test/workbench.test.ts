import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, openCase, startServer, type TestServer } from './helpers.ts';

const HOUR = 3_600_000;
const clock = new FakeClock();
let server: TestServer;
let shopA: string;
let shopB: string;
const cases: { afterSaleId: string; number: string; requestId: string | null }[] = [];

const WORKBENCH = `query($first: Int, $after: String, $filter: AwaitingEvidenceFilter) {
  awaitingEvidence(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id number type status evidenceRequest { dueAt secondsRemaining status } } }
  }
}`;

beforeAll(async () => {
  server = await startServer({}, { clock });
  shopA = await server.merchantToken('shop-a');
  shopB = await server.merchantToken('shop-b');
  // Five rounds opened an hour apart: the first opened is due first.
  const types = ['REFUND_ONLY', 'RETURN_AND_REFUND', 'EXCHANGE', 'REFUND_ONLY', 'REFUND_ONLY'];
  for (const [i, type] of types.entries()) {
    cases.push(await openCase(server, 'shop-a', { type, number: `AS10${i}`, appliedAt: new Date(clock.now() - (10 - i) * HOUR).toISOString() }));
    clock.advance(HOUR);
  }
  cases.push(await openCase(server, 'shop-a', { number: 'AS200', request: false }));
  cases.push(await openCase(server, 'shop-b', { number: 'AS300' }));
});
afterAll(() => server.stop());

const numbers = (res: any) => res.data.awaitingEvidence.edges.map((e: any) => e.node.number);

describe('awaitingEvidence', () => {
  it('lists only the own shop\'s open rounds, nearest deadline first', async () => {
    const res = await server.gql(shopA, WORKBENCH);
    expect(numbers(res)).toEqual(['AS100', 'AS101', 'AS102', 'AS103', 'AS104']);
    expect(res.data.awaitingEvidence.totalCount).toBe(5);
    const first = res.data.awaitingEvidence.edges[0].node;
    expect(first.status).toBe('AWAITING_MERCHANT_EVIDENCE');
    // Opened five hours ago with a 24-hour window: 19 hours left.
    expect(first.evidenceRequest.secondsRemaining).toBe(19 * 3600);
    expect(numbers(await server.gql(shopB, WORKBENCH))).toEqual(['AS300']);
  });

  it('pages with cursors without gaps or repeats', async () => {
    const page1 = await server.gql(shopA, WORKBENCH, { first: 2 });
    expect(numbers(page1)).toEqual(['AS100', 'AS101']);
    expect(page1.data.awaitingEvidence.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const page2 = await server.gql(shopA, WORKBENCH, { first: 2, after: page1.data.awaitingEvidence.pageInfo.endCursor });
    expect(numbers(page2)).toEqual(['AS102', 'AS103']);
    const page3 = await server.gql(shopA, WORKBENCH, { first: 2, after: page2.data.awaitingEvidence.pageInfo.endCursor });
    expect(numbers(page3)).toEqual(['AS104']);
    expect(page3.data.awaitingEvidence.pageInfo.hasNextPage).toBe(false);
    expect(page3.data.awaitingEvidence.totalCount).toBe(5);
  });

  it('filters by deadline, search prefix, type and application time', async () => {
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { dueWithinHours: 20.5 } }))).toEqual(['AS100', 'AS101']);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'AS10' } }))).toHaveLength(5);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'AS103' } }))).toEqual(['AS103']);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'OD-AS102' } }))).toEqual(['AS102']);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: '%' } }))).toEqual([]);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'A_10' } }))).toEqual([]);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { type: 'EXCHANGE' } }))).toEqual(['AS102']);
    const appliedAfter = new Date(clock.now() - 5 * HOUR - 8 * HOUR).toISOString();
    const res = await server.gql(shopA, WORKBENCH, { filter: { appliedAfter, type: 'REFUND_ONLY' } });
    expect(numbers(res)).toEqual(['AS103', 'AS104']);
    expect(res.data.awaitingEvidence.totalCount).toBe(2);
    const appliedBefore = new Date(clock.now() - 9 * HOUR).toISOString();
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { appliedBefore } }))).toEqual(['AS100', 'AS101', 'AS102']);
  });

  it('searches numbers ignoring ASCII case, alike on SQLite and PostgreSQL', async () => {
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'as103' } }))).toEqual(['AS103']);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'od-As102' } }))).toEqual(['AS102']);
    expect(numbers(await server.gql(shopA, WORKBENCH, { filter: { search: 'aS10' } }))).toHaveLength(5);
  });

  it('refuses a page over 100, a foreign cursor, a negative deadline filter and an over-long search', async () => {
    for (const variables of [{ first: 101 }, { after: 'bm90LWEtY3Vyc29y' }, { filter: { dueWithinHours: -1 } }, { filter: { search: 'A'.repeat(65) } }]) {
      const res = await server.gql(shopA, WORKBENCH, variables);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.data).toBeNull();
    }
  });

  it('answers UNAUTHENTICATED without a token and FORBIDDEN to the platform', async () => {
    const anonymous = await server.gql(null, WORKBENCH);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const bad = await server.gql('not-a-token', WORKBENCH);
    expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const platform = await server.gql(await server.platformToken(), WORKBENCH);
    expect(platform.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('afterSale and node', () => {
  it('shows a merchant its own after-sale and nothing of another shop\'s, exactly as if it did not exist', async () => {
    const own = cases[0]!;
    const foreign = cases.at(-1)!;
    const query = `query($id: ID!) { afterSale(id: $id) { number evidenceRequests { id status } } node(id: $id) { id } }`;
    const mine = await server.gql(shopA, query, { id: own.afterSaleId });
    expect(mine.data.afterSale.number).toBe('AS100');
    expect(mine.data.node.id).toBe(own.afterSaleId);
    const theirs = await server.gql(shopA, query, { id: foreign.afterSaleId });
    const missing = await server.gql(shopA, query, { id: Buffer.from('AfterSale:999999').toString('base64') });
    expect(theirs).toEqual({ data: { afterSale: null, node: null } });
    expect(missing).toEqual(theirs);
    // A malformed id, one of a type that is no node, and another type's id all name nothing: the same answer, no error.
    for (const id of ['garbage', Buffer.from('Foo:1').toString('base64'), Buffer.from('AfterSale:abc').toString('base64'), own.requestId!]) {
      const named = await server.gql(shopA, `query($id: ID!) { afterSale(id: $id) { number } node(id: $id) { ... on AfterSale { number } } }`, { id });
      expect(named.errors).toBeUndefined();
      expect(named.data.afterSale).toBeNull();
      if (id !== own.requestId) expect(named.data.node).toBeNull();
    }
    const roundQuery = `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status } } }`;
    expect((await server.gql(shopA, roundQuery, { id: foreign.requestId })).data.node).toBeNull();
    expect((await server.gql(shopB, roundQuery, { id: foreign.requestId })).data.node).toEqual({ status: 'OPEN' });
  });

  it('lets the platform read any after-sale, with its log oldest first and paged', async () => {
    const platform = await server.platformToken();
    const query = `query($id: ID!, $after: String) { afterSale(id: $id) { merchantId logs(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { action actor } } } } }`;
    const page1 = await server.gql(platform, query, { id: cases.at(-1)!.afterSaleId });
    expect(page1.data.afterSale.merchantId).toBe('shop-b');
    expect(page1.data.afterSale.logs.totalCount).toBe(3);
    expect(page1.data.afterSale.logs.edges.map((e: any) => e.node)).toEqual([
      { action: 'APPLIED', actor: 'BUYER' },
      { action: 'PLATFORM_INTERVENED', actor: 'PLATFORM' },
    ]);
    const page2 = await server.gql(platform, query, { id: cases.at(-1)!.afterSaleId, after: page1.data.afterSale.logs.pageInfo.endCursor });
    expect(page2.data.afterSale.logs.edges.map((e: any) => e.node.action)).toEqual(['EVIDENCE_REQUESTED']);
    expect(page2.data.afterSale.logs.pageInfo.hasNextPage).toBe(false);
  });

  it('fetches log lines by node id only for those who may see their after-sale', async () => {
    const platform = await server.platformToken();
    const logs = await server.gql(platform, `query($id: ID!) { afterSale(id: $id) { logs { edges { node { id action } } } } }`, { id: cases.at(-1)!.afterSaleId });
    const lines = logs.data.afterSale.logs.edges.map((e: any) => e.node);
    const query = `query($a: ID!, $b: ID!) { a: node(id: $a) { ... on AfterSaleLog { action } } b: node(id: $b) { ... on AfterSaleLog { action } } }`;
    const ids = { a: lines[0].id, b: lines[2].id };
    expect((await server.gql(shopB, query, ids)).data).toEqual({ a: { action: 'APPLIED' }, b: { action: 'EVIDENCE_REQUESTED' } });
    expect((await server.gql(shopA, query, ids)).data).toEqual({ a: null, b: null });
  });
});
