import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCase, startServer, type TestServer } from './helpers.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

describe('the pages', () => {
  it('serves / and /platform with a strict CSP header and no caching of the page itself', async () => {
    for (const path of ['/', '/platform']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      // No inline script: every script has a src on this server.
      expect(html.match(/<script\b[^>]*>/g)!.every((tag) => /\bsrc="\/assets\//.test(tag))).toBe(true);
    }
  });

  it('serves the hashed assets as immutable, and 404 for a name it does not have or a path outside', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await fetch(`${server.url}${script}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const head = await fetch(`${server.url}${script}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(res.headers.get('content-length'));
    expect((await fetch(`${server.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it('offers no demo sessions where there is no demo data', async () => {
    expect(await (await fetch(`${server.url}/demo-sessions.json`)).json()).toEqual([]);
  });
});

describe('afterSaleByNumber, which the console finds after-sales with', () => {
  const FIND = `query($n: String!) { afterSaleByNumber(number: $n) { number status } }`;

  it('finds any after-sale for the platform, and only its own for a merchant', async () => {
    const { number } = await openCase(server, 'shop-find');
    const platform = await server.platformToken();
    expect((await server.gql(platform, FIND, { n: number })).data.afterSaleByNumber).toEqual({ number, status: 'AWAITING_MERCHANT_EVIDENCE' });
    expect((await server.gql(await server.merchantToken('shop-find'), FIND, { n: number })).data.afterSaleByNumber.number).toBe(number);
    expect((await server.gql(await server.merchantToken('shop-other'), FIND, { n: number })).data.afterSaleByNumber).toBeNull();
    expect((await server.gql(platform, FIND, { n: 'AS-NO-SUCH' })).data.afterSaleByNumber).toBeNull();
    expect((await server.gql(null, FIND, { n: number })).errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
