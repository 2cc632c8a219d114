import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, openCase, startServer, uploadRequest, SUBMIT, type TestServer } from './helpers.ts';

let dev: TestServer;
let prod: TestServer;
let merchant: string;
let prodMerchant: string;

beforeAll(async () => {
  [dev, prod] = await Promise.all([startServer(), startServer({ NODE_ENV: 'production' })]);
  merchant = await dev.merchantToken('shop-a');
  prodMerchant = await prod.merchantToken('shop-a');
  await Promise.all([openCase(dev, 'shop-a'), openCase(prod, 'shop-a')]);
});
afterAll(() => Promise.all([dev?.stop(), prod?.stop()]));

async function post(server: TestServer, token: string | null, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

/** What no error may carry: a stack frame, a source path, SQL or a driver's name. */
function expectNothingInternal(text: string) {
  expect(text).not.toMatch(/\bat .+:\d+:\d+|\.ts\b|node_modules|stack|SQLITE|\bSELECT\b|\bFROM\b|\bLIKE\b|better-sqlite3|drizzle/i);
}

describe('GraphQL limits over HTTP', () => {
  it('refuses a query nested deeper than the depth limit', async () => {
    let selection = 'id';
    for (let i = 0; i < 8; i++) selection = `evidenceRequest { afterSale { ${selection} } }`;
    const { json, text } = await post(dev, merchant, { query: `{ awaitingEvidence { edges { node { ${selection} } } } }` });
    expect(json.data).toBeUndefined();
    expect(json.errors![0]!.message).toMatch(/depth/i);
    expectNothingInternal(text);
  });

  it('refuses more aliases than the limit', async () => {
    const fields = Array.from({ length: 30 }, (_, i) => `a${i}: unreadMessageCount`).join(' ');
    const { json } = await post(dev, merchant, { query: `{ ${fields} }` });
    expect(json.data).toBeUndefined();
    expect(json.errors![0]!.message).toMatch(/alias/i);
  });

  it('refuses a document with more tokens than the limit', async () => {
    const { json } = await post(dev, merchant, { query: `{ ${'__typename '.repeat(3000)}}` });
    expect(json.data).toBeUndefined();
    expect(json.errors![0]!.message).toMatch(/token/i);
  });

  it('refuses a query whose cost passes the limit: lists of lists at their largest pages', async () => {
    const query = `{ awaitingEvidence(first: 100) { edges { node { logs(first: 100) { edges { node { id summary at actor action } } } } } } }`;
    const { json } = await post(dev, merchant, { query });
    expect(json.data).toBeUndefined();
    expect(json.errors![0]!.message).toMatch(/cost/i);
  });

  it('refuses a batched request (a JSON array of operations) and runs none of them', async () => {
    const { status, json } = await post(dev, merchant, [{ query: '{ unreadMessageCount }' }, { query: '{ unreadMessageCount }' }]);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(json.data).toBeUndefined();
    expect(json.errors!.length).toBeGreaterThan(0);
  });

  it('refuses `first` over 100 on every connection', async () => {
    const { afterSaleId } = await openCase(dev, 'shop-a');
    const queries = [
      ['{ awaitingEvidence(first: 101) { totalCount } }', {}],
      ['{ messages(first: 1000) { edges { cursor } } }', {}],
      ['query($id: ID!) { afterSale(id: $id) { logs(first: 101) { edges { cursor } } } }', { id: afterSaleId }],
    ] as const;
    for (const [query, variables] of queries) {
      const { json } = await post(dev, merchant, { query, variables });
      expect(JSON.stringify(json.data ?? null)).not.toContain('edges');
      expect(json.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(json.errors![0]!.message).toMatch(/100/);
    }
    const allowed = await post(dev, merchant, { query: '{ awaitingEvidence(first: 100) { edges { cursor } } }' });
    expect(allowed.json.errors).toBeUndefined();
  });
});

describe('production mode', () => {
  it('answers introspection with an error, while an ordinary query works', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "AfterSale") { fields { name } } }']) {
      const { json } = await post(prod, prodMerchant, { query });
      expect(json.data).toBeUndefined();
      expect(json.errors![0]!.message).toMatch(/introspection/i);
    }
    const ok = await post(prod, prodMerchant, { query: '{ unreadMessageCount }' });
    expect(ok.json.data!.unreadMessageCount).toBeTypeOf('number');
    // The same probe passes outside production, so the refusal above is production's doing.
    const open = await post(dev, merchant, { query: '{ __schema { queryType { name } } }' });
    expect(open.json.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('serves no GraphiQL page, and suggests no field names', async () => {
    const page = (server: TestServer) => fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect((await page(dev)).headers.get('content-type')).toMatch(/text\/html/);
    const res = await page(prod);
    expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await res.text()).not.toMatch(/graphiql/i);

    const typo = await post(prod, prodMerchant, { query: '{ unreadMessageCoun }' });
    expect(typo.json.errors![0]!.message).not.toMatch(/did you mean/i);
  });
});

describe('error messages', () => {
  it('masks an unexpected failure: the temporary folder gone from the disk yields a generic message, no path, no stack', async () => {
    for (const server of [dev, prod]) {
      const token = server === dev ? merchant : prodMerchant;
      const { requestId } = await openCase(server, 'shop-a');
      const tmp = server.app.services.store.tmpDir;
      fs.rmSync(tmp, { recursive: true });
      try {
        const res = await uploadRequest(server.url, token, SUBMIT, { input: { evidenceRequestId: requestId, explanation: 'Disk trouble', files: [] } }, 'input.files', [
          { content: fixture('label.gif'), name: 'label.gif' },
        ]);
        const text = await res.text();
        expect(JSON.parse(text).errors[0].message).toBe('Unexpected error.');
        expect(text).not.toContain(server.dataDir);
        expect(text).not.toMatch(/ENOENT/);
        expectNothingInternal(text);
      } finally {
        fs.mkdirSync(tmp, { recursive: true });
      }
    }
  });

  it('shows no SQL when the database refuses a statement', async () => {
    // SQLite refuses LIKE patterns over 50,000 bytes, and the search filter reaches that limit.
    for (const [server, token] of [[dev, merchant], [prod, prodMerchant]] as const) {
      const { json, text } = await post(server, token, {
        query: 'query($s: String) { awaitingEvidence(filter: { search: $s }) { totalCount } }',
        variables: { s: 'A'.repeat(60_000) },
      });
      expect(json.errors!.length).toBeGreaterThan(0);
      expectNothingInternal(text);
    }
  });

  it('answers a corrupted cursor, a forged id and a bad token with plain messages', async () => {
    const cases = [
      { query: '{ awaitingEvidence(after: "bm90LWEtY3Vyc29yOjE6Mg") { totalCount } }' },
      { query: '{ messages(after: "%%%") { totalCount } }' },
      { query: '{ node(id: "QWZ0ZXJTYWxlOjEnIE9SIDE9MSAtLQ") { id } }' },
    ];
    for (const body of cases) {
      for (const [server, token] of [[dev, merchant], [prod, prodMerchant]] as const) {
        const { text } = await post(server, token, body);
        expectNothingInternal(text);
      }
    }
    const { json, text } = await post(prod, 'not.a.jwt', { query: '{ unreadMessageCount }' });
    expect(json.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expectNothingInternal(text);
  });
});
