import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { parse, print } from 'graphql';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type TestServer } from './helpers.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Sent {
  method: string;
  hashOnly: boolean;
}

/** Apollo Client with its persisted-query link, recording what each request carried. */
function apollo(server: TestServer, token: string, useGETForHashedQueries = false) {
  const sent: Sent[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const payload = method === 'GET' ? { query: url.searchParams.get('query') } : JSON.parse(String(init?.body));
    sent.push({ method, hashOnly: !payload.query });
    return fetch(input, init);
  };
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({ uri: `${server.url}/graphql`, fetch: recordingFetch, headers: { authorization: `Bearer ${token}` } }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent };
}

async function post(server: TestServer, body: unknown, token?: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

describe("automatic persisted queries, as Apollo Client's createPersistedQueryLink sends them", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ NODE_ENV: 'production', AUTH_SECRET: 'production-secret-0123456789' });
  });
  afterAll(() => server.stop());

  it('over POST: the unknown hash is refused, the retry with the query registers it, and the next client sends the hash alone', async () => {
    const token = await server.merchantToken('shop-apq');
    const query = apolloGql`query UnreadPost { unreadMessageCount }`;
    const first = apollo(server, token);
    expect((await first.client.query({ query })).data).toEqual({ unreadMessageCount: 0 });
    expect(first.sent).toEqual([
      { method: 'POST', hashOnly: true },
      { method: 'POST', hashOnly: false },
    ]);
    const second = apollo(server, token);
    expect((await second.client.query({ query })).data).toEqual({ unreadMessageCount: 0 });
    expect(second.sent).toEqual([{ method: 'POST', hashOnly: true }]);
  });

  it('over GET, for queries', async () => {
    const token = await server.merchantToken('shop-apq');
    const query = apolloGql`query UnreadGet { unreadMessageCount }`;
    const first = apollo(server, token, true);
    expect((await first.client.query({ query })).data).toEqual({ unreadMessageCount: 0 });
    expect(first.sent[0]).toEqual({ method: 'GET', hashOnly: true });
    const second = apollo(server, token, true);
    expect((await second.client.query({ query })).data).toEqual({ unreadMessageCount: 0 });
    expect(second.sent).toEqual([{ method: 'GET', hashOnly: true }]);
  });

  it('in production a made-up hash executes nothing: PersistedQueryNotFound alone, PersistedQueryMismatch beside a query', async () => {
    const platform = await server.platformToken();
    const mutation = `mutation { recordAfterSale(input: { merchantId: "shop-apq", number: "AS-APQ-1", orderNumber: "OD-APQ-1", type: REFUND_ONLY, reason: "Damaged", buyerClaim: "Broken", amountCents: 100 }) { __typename } }`;
    const madeUp = { persistedQuery: { version: 1, sha256Hash: sha256('something never sent') } };
    const alone = await post(server, { extensions: madeUp }, platform);
    expect(alone.errors?.[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const beside = await post(server, { query: mutation, extensions: madeUp }, platform);
    expect(beside.errors?.[0]).toMatchObject({ message: 'PersistedQueryMismatch' });
    expect(beside.data).toBeUndefined();
    // Nothing was recorded: the fresh database still has no after-sale at all.
    const stored = await post(server, { query: `{ node(id: "${Buffer.from('AfterSale:1').toString('base64')}") { id } }` }, platform);
    expect(stored.data).toEqual({ node: null });
  });

  it('keeps a bounded store: a flood of registrations pushes the oldest query out', async () => {
    const token = await server.merchantToken('shop-apq');
    const register = (query: string) => post(server, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, token);
    // Comments are no tokens for the limits, so each of these is a small query in a large body.
    const padded = (i: number) => `{ unreadMessageCount } # ${i} ${'x'.repeat(100 * 1024)}`;
    const oldest = padded(0);
    expect((await register(oldest)).data).toEqual({ unreadMessageCount: 0 });
    const hashOnly = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(oldest) } } };
    expect((await post(server, hashOnly, token)).data).toEqual({ unreadMessageCount: 0 });
    for (let i = 1; i <= 50; i++) await register(padded(i));
    expect((await post(server, hashOnly, token)).errors?.[0]?.message).toBe('PersistedQueryNotFound');
  });
});

describe('a persisted-operations file', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs the hashes of Apollo's persisted query manifest from the start, in production", async () => {
    // As Apollo's manifest generator writes it: the printed document, hashed.
    const body = print(parse('query ListedUnread { unreadMessageCount }'));
    const file = path.join(dir, 'persisted-query-manifest.json');
    fs.writeFileSync(file, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha256(body), name: 'ListedUnread', type: 'query', body }] }));
    const server = await startServer({ NODE_ENV: 'production', AUTH_SECRET: 'production-secret-0123456789', PERSISTED_OPERATIONS_FILE: file });
    try {
      const token = await server.merchantToken('shop-listed');
      const first = apollo(server, token);
      expect((await first.client.query({ query: apolloGql(body) })).data).toEqual({ unreadMessageCount: 0 });
      expect(first.sent).toEqual([{ method: 'POST', hashOnly: true }]);
    } finally {
      await server.stop();
    }
  });

  it('stops the start when an entry is not the query under its own hash', async () => {
    const file = path.join(dir, 'forged.json');
    fs.writeFileSync(file, JSON.stringify({ [sha256('{ __typename }')]: 'mutation { markMessagesRead(ids: []) }' }));
    await expect(startServer({ PERSISTED_OPERATIONS_FILE: file })).rejects.toThrow(/PERSISTED_OPERATIONS_FILE: the entry/);
  });
});
