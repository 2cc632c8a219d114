import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.ts';
import { connect } from './ws-client.ts';

const ISSUER = 'http://127.0.0.1/identity';
const AUDIENCE = 'evidence-service';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

async function providerKey(alg: 'RS256' | 'ES256', kid: string) {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } as JWK };
}

/** A token as an identity provider signs it: its key, its issuer and audience, our claims. */
function providerToken(
  key: { alg: string; kid: string; pair: KeyPair },
  claims: Record<string, unknown>,
  options: { issuer?: string; audience?: string; sub?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject(options.sub ?? 'staff-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.pair.privateKey);
}

describe('tokens signed by a key of AUTH_JWKS_URL', () => {
  let server: TestServer;
  let keySet: http.Server;
  let served: JWK[] = [];
  let fetches = 0;
  let rsa: Awaited<ReturnType<typeof providerKey>>;
  let ec: Awaited<ReturnType<typeof providerKey>>;

  beforeAll(async () => {
    rsa = await providerKey('RS256', 'rsa-1');
    ec = await providerKey('ES256', 'ec-1');
    served = [rsa.jwk, ec.jwk];
    keySet = http.createServer((req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => keySet.listen(0, '127.0.0.1', resolve));
    const { port } = keySet.address() as AddressInfo;
    server = await startServer({
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_COOLDOWN: '300ms',
    });
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => keySet.close(resolve));
  });

  const unread = (token: string) => server.gql(token, '{ unreadMessageCount }');
  const codeOf = (result: { errors?: any[] }) => result.errors?.[0]?.extensions?.code;

  it('accepts an RS256 merchant token over HTTP and over WebSocket', async () => {
    const token = await providerToken(rsa, { role: 'merchant', merchantId: 'shop-idp' });
    expect((await unread(token)).data).toEqual({ unreadMessageCount: 0 });
    const socket = connect(server.url, token);
    await socket.connected();
    await socket.roundTrip();
    await socket.dispose();
  });

  it('accepts an ES256 platform token', async () => {
    const token = await providerToken(ec, { role: 'platform' }, { sub: 'agent-idp' });
    const recorded = await server.gql(
      token,
      `mutation { recordAfterSale(input: { merchantId: "shop-idp", number: "AS-IDP-1", orderNumber: "OD-IDP-1", type: REFUND_ONLY, reason: "Damaged", buyerClaim: "Broken", amountCents: 100 }) { __typename } }`,
    );
    expect(recorded.data).toEqual({ recordAfterSale: { __typename: 'RecordAfterSalePayload' } });
  });

  it('refuses a wrong issuer or audience over HTTP, and closes a socket with 4403 for one', async () => {
    const wrongIssuer = await providerToken(rsa, { role: 'merchant', merchantId: 'shop-idp' }, { issuer: 'http://127.0.0.1/elsewhere' });
    const wrongAudience = await providerToken(rsa, { role: 'merchant', merchantId: 'shop-idp' }, { audience: 'another-service' });
    expect(codeOf(await unread(wrongIssuer))).toBe('UNAUTHENTICATED');
    expect(codeOf(await unread(wrongAudience))).toBe('UNAUTHENTICATED');
    const socket = connect(server.url, wrongAudience);
    expect((await socket.closed()).code).toBe(4403);
    await socket.dispose();
  });

  it('refuses a token whose kid names a served key but that another key signed', async () => {
    const impostor = await providerKey('RS256', 'rsa-1');
    expect(codeOf(await unread(await providerToken(impostor, { role: 'merchant', merchantId: 'shop-idp' })))).toBe('UNAUTHENTICATED');
  });

  it('takes a rotated key by its kid without a restart, and drops the retired one', async () => {
    const next = await providerKey('RS256', 'rsa-2');
    served = [next.jwk, ec.jwk];
    // Past the cooldown, an unknown kid makes jose fetch the key set again.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const rotated = await providerToken(next, { role: 'merchant', merchantId: 'shop-idp' }, { sub: 'staff-rotated' });
    expect((await unread(rotated)).data).toEqual({ unreadMessageCount: 0 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const retired = await providerToken(rsa, { role: 'merchant', merchantId: 'shop-idp' }, { sub: 'staff-retired' });
    expect(codeOf(await unread(retired))).toBe('UNAUTHENTICATED');
  });

  it('fetches the key set again for unknown kids at most once per cooldown', async () => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    const before = fetches;
    for (let i = 0; i < 5; i++) {
      const stranger = await providerKey('ES256', `unknown-${i}`);
      expect(codeOf(await unread(await providerToken(stranger, { role: 'merchant', merchantId: 'shop-idp' })))).toBe('UNAUTHENTICATED');
    }
    expect(fetches - before).toBeLessThanOrEqual(1);
  });

  it('keeps HS256 tokens signed with AUTH_SECRET valid, without an issuer or audience', async () => {
    expect((await unread(await server.merchantToken('shop-idp'))).data).toEqual({ unreadMessageCount: 0 });
  });
});
