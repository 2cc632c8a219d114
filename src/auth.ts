import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { JwksConfig } from './config.ts';

export type Viewer = (
  | { role: 'merchant'; sub: string; merchantId: string }
  | { role: 'platform'; sub: string }
) & {
  /** When the token stops being honoured (ms), if it has an `exp`. */
  expiresAt?: number;
};

export class AuthError extends Error {}

/** The configured secret, or the development secret kept in DATA_DIR (created once). */
export function resolveSecret(configured: string | null, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'dev-secret');
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** What an identity provider signs with; HS256 stays ours alone (AUTH_SECRET). */
const PROVIDER_ALGORITHMS = ['RS256', 'ES256'];

export class Auth {
  /** Imported once: jose would import raw bytes again on every call, a thread-pool round trip each. */
  private readonly key: Promise<CryptoKey>;
  /** jose's remote key set: cached, fetched again for an unknown `kid` after the cooldown. */
  private readonly keySet: ReturnType<typeof createRemoteJWKSet> | null;

  constructor(
    private readonly secret: string,
    private readonly jwks: JwksConfig | null = null,
  ) {
    this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.keySet = jwks ? createRemoteJWKSet(jwks.url, { cooldownDuration: jwks.cooldownMs, timeoutDuration: 5000 }) : null;
  }

  /** HS256 with AUTH_SECRET, or RS256/ES256 by a key of AUTH_JWKS_URL (with its issuer and audience). */
  private async payloadOf(token: string): Promise<JWTPayload> {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256' || !this.keySet || !this.jwks) return (await jwtVerify(token, await this.key, { algorithms: ['HS256'] })).payload;
    const { payload } = await jwtVerify(token, this.keySet, {
      algorithms: PROVIDER_ALGORITHMS,
      issuer: this.jwks.issuer ?? undefined,
      audience: this.jwks.audience ?? undefined,
    });
    return payload;
  }

  async sign(viewer: Viewer, expiresIn?: string): Promise<string> {
    const claims = viewer.role === 'merchant' ? { role: viewer.role, merchantId: viewer.merchantId } : { role: viewer.role };
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(viewer.sub).setIssuedAt();
    if (expiresIn) jwt.setExpirationTime(expiresIn);
    return jwt.sign(await this.key);
  }

  /** The viewer a bearer token stands for; throws AuthError for anything not valid now. */
  async verify(token: string): Promise<Viewer> {
    let payload;
    try {
      payload = await this.payloadOf(token);
    } catch {
      throw new AuthError('The token is invalid or expired');
    }
    const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : null;
    if (!sub) throw new AuthError('The token has no subject');
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    if (payload.role === 'platform') return { role: 'platform', sub, expiresAt };
    if (payload.role === 'merchant' && typeof payload.merchantId === 'string' && payload.merchantId) {
      return { role: 'merchant', sub, merchantId: payload.merchantId, expiresAt };
    }
    throw new AuthError('The token has no valid role');
  }

  /** Reads `Bearer <jwt>` (or a bare token, as some socket clients send it). */
  async fromHeader(value: unknown): Promise<Viewer | null> {
    if (typeof value !== 'string' || value.trim() === '') return null;
    const token = value.replace(/^Bearer\s+/i, '').trim();
    return this.verify(token);
  }

  /** `subject` says what the link opens, so a link to one thing never opens another. */
  private mac(subject: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${subject}:${expires}`).digest('base64url');
  }

  private verifyMac(subject: string, expires: number, sig: string, now: number): boolean {
    if (!Number.isSafeInteger(expires) || expires <= now) return false;
    const expected = Buffer.from(this.mac(subject, expires));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** Query string of a signed link to one evidence file, good until `expires` (ms). */
  signFileLink(fileId: number, expires: number): string {
    return `expires=${expires}&sig=${this.mac(`evidence-file:${fileId}`, expires)}`;
  }

  verifyFileLink(fileId: number, expires: number, sig: string, now: number): boolean {
    return this.verifyMac(`evidence-file:${fileId}`, expires, sig, now);
  }

  /** Query string of a signed link to the preview of one evidence file at one width. */
  signPreviewLink(fileId: number, width: number, expires: number): string {
    return `expires=${expires}&sig=${this.mac(`evidence-preview:${fileId}:${width}`, expires)}`;
  }

  verifyPreviewLink(fileId: number, width: number, expires: number, sig: string, now: number): boolean {
    return this.verifyMac(`evidence-preview:${fileId}:${width}`, expires, sig, now);
  }
}
