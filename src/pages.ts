import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Services } from './context.ts';
import { DEMO_MERCHANTS } from './demo/seed.ts';

/** Where `npm run build:web` puts the workbench and the console (git-ignored). */
export const WEB_DIST = fileURLToPath(new URL('../web/dist/', import.meta.url));

const PAGES: Record<string, string> = { '/': 'index.html', '/platform': 'platform.html', '/platform/': 'platform.html' };

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

/**
 * The pages' policy: scripts and styles from this server only (no inline script,
 * no eval); images and video from this server (the signed file links), or from
 * PUBLIC_URL where the links are built from it, and blob: for previews of picked
 * files; HTTP and WebSocket to this server only.
 */
export function pageCsp(publicUrl: string | null): string {
  const files = publicUrl ? ` ${new URL(publicUrl).origin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' blob:${files}`,
    `media-src 'self'${files}`,
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Serves the built pages and their assets; answers false for paths that are not theirs. */
export function createPages(services: Services) {
  const { config, auth } = services;
  const csp = pageCsp(config.publicUrl);
  const security = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };

  function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
    res.writeHead(status, { ...security, ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Ready-made sessions for the demo shops and a platform agent: development with demo data only, else none. */
  async function demoSessions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessions = config.production || !config.seed ? [] : [
      ...(await Promise.all(
        DEMO_MERCHANTS.map(async (id) => ({ role: 'merchant', id, token: await auth.sign({ role: 'merchant', sub: `${id}-staff`, merchantId: id }) })),
      )),
      { role: 'platform', id: 'agent-demo', token: await auth.sign({ role: 'platform', sub: 'agent-demo' }) },
    ];
    send(req, res, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, JSON.stringify(sessions));
  }

  return async function servePage(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (pathname === '/demo-sessions.json') {
      await demoSessions(req, res);
      return true;
    }
    const page = PAGES[pathname];
    const asset = /^\/(assets\/[A-Za-z0-9_.-]+|favicon\.svg)$/.exec(pathname)?.[1];
    const name = page ?? asset;
    if (!name) return false;
    let body: Buffer;
    try {
      body = await fs.promises.readFile(path.join(WEB_DIST, name));
    } catch {
      if (page) {
        send(req, res, 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, 'The pages are not built: run `npm run build:web`.\n');
        return true;
      }
      return false;
    }
    // Pages are always fetched afresh (they name the current assets); assets carry a content hash in their name.
    const cache = page ? 'no-cache' : name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600';
    const type = page ? 'text/html; charset=utf-8' : (TYPES[path.extname(name)] ?? 'application/octet-stream');
    send(req, res, 200, { 'content-type': type, 'cache-control': cache }, body);
    return true;
  };
}
