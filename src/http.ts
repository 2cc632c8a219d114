import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { processRequest } from 'graphql-upload-minimal';
import type { Services } from './context.ts';
import { createFileLinks } from './file-links.ts';
import { createPages } from './pages.ts';
import { loggerOf } from './logger.ts';
import { drainThen } from './http-drain.ts';
import { createUploadHandler } from './uploads.ts';
import type { YogaServer } from './yoga.ts';

/** Room for the operations and map fields and the part headers, beyond the files' own bytes. */
const MULTIPART_OVERHEAD = 1024 * 1024;

export interface HttpHandlerOptions {
  services: Services;
  yoga: YogaServer;
  /** True once the database is open and the scheduler runs. */
  healthy: () => boolean;
  /** True while this instance takes traffic: not stopping, and its database answers. */
  ready: () => Promise<boolean>;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. */
function metricsAllowed(header: string | undefined, token: string | null): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  return timingSafeEqual(digest(given), digest(token));
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

function graphqlError(res: ServerResponse, status: number, message: string, code: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

export function createHttpHandler({ services, yoga, healthy, ready }: HttpHandlerOptions) {
  const { config, metrics } = services;
  const links = createFileLinks(services);
  const uploads = createUploadHandler(services);
  const limits = config.limits;
  const servePage = createPages(services);

  /**
   * A client that stops sending its request body for UPLOAD_IDLE_TIMEOUT gets
   * 408 and loses the connection, instead of holding it until Node's request
   * timeout (30 minutes, for the largest uploads). Only the body is timed:
   * once it has all arrived, the work and the answer (which may be a long
   * event stream) are not.
   */
  function cutOffStalls(req: IncomingMessage, res: ServerResponse, message: string, code: string): void {
    req.setTimeout(limits.idleTimeoutMs, () => {
      if (res.headersSent) return void req.destroy();
      res.shouldKeepAlive = false;
      res.once('finish', () => req.destroy());
      graphqlError(res, 408, message, code);
    });
    req.once('end', () => req.setTimeout(0));
  }

  async function handleMultipart(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!req.headers['x-graphql-yoga-csrf'] && !req.headers['apollo-require-preflight']) {
      return drainThen(req, res, () =>
        graphqlError(res, 403, 'Multipart requests must carry an x-graphql-yoga-csrf or apollo-require-preflight header', 'CSRF_PREFLIGHT_REQUIRED'),
      );
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxTotalBytes + MULTIPART_OVERHEAD) {
      return drainThen(req, res, () => graphqlError(res, 413, `The request is over the ${limits.maxTotalBytes} byte limit`, 'PAYLOAD_TOO_LARGE'));
    }
    // Closing a stalled upload fails its file streams, so the submission stores nothing.
    cutOffStalls(req, res, `No data arrived for ${limits.idleTimeoutMs} ms; the upload was dropped`, 'UPLOAD_TIMEOUT');
    let operations: unknown;
    try {
      operations = await processRequest(req, res, {
        maxFieldSize: 1024 * 1024,
        // busboy signals its limit when a file reaches it, not passes it: one byte more lets a
        // file of exactly the limit through, and the store's own count refuses anything larger.
        maxFileSize: limits.maxVideoBytes + 1,
        maxFiles: limits.maxFiles * 2,
      });
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      if (res.headersSent || req.destroyed) return;
      return drainThen(req, res, () => graphqlError(res, status >= 400 && status < 500 ? status : 400, (error as Error).message, 'BAD_REQUEST'));
    }
    const headers = new Headers();
    for (const name of ['authorization', 'accept', 'host', 'user-agent', 'traceparent', 'tracestate']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers.set(name, value);
    }
    const response = await yoga.fetch(new Request(url, { method: 'POST', headers }), { uploadOperations: operations, req });
    const body = Buffer.from(await response.arrayBuffer());
    // The answer is ready though the body may not have ended (a refused file): drainThen bounds the rest.
    req.setTimeout(0);
    drainThen(req, res, () => {
      // Already answered (timed out) or the client is gone.
      if (res.headersSent || !res.writable) return;
      res.writeHead(response.status, { ...Object.fromEntries(response.headers), 'content-length': String(body.length) });
      res.end(body);
    });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `${config.host}:${config.port}`}`);
    try {
      if (url.pathname === '/healthz') {
        const ok = healthy();
        return sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'starting' });
      }
      if (url.pathname === '/readyz') {
        const ok = await ready();
        return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      }
      if (url.pathname === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        if (!metricsAllowed(req.headers.authorization, config.metricsToken)) {
          return sendJson(res, 401, { error: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' }, { 'www-authenticate': 'Bearer' });
        }
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
        return void res.end(req.method === 'HEAD' ? undefined : text);
      }
      const reading = req.method === 'GET' || req.method === 'HEAD';
      if (url.pathname.startsWith('/files/') && reading) return links.serveFile(req, res, url);
      if (url.pathname.startsWith('/previews/') && reading) return await links.servePreview(req, res, url);
      if (url.pathname === '/uploads' || url.pathname.startsWith('/uploads/')) return await uploads(req, res, url);
      if (url.pathname === '/graphql') {
        const type = req.headers['content-type'] ?? '';
        if (req.method === 'POST' && type.toLowerCase().startsWith('multipart/form-data')) return await handleMultipart(req, res, url);
        if (req.method === 'POST') cutOffStalls(req, res, `No data arrived for ${limits.idleTimeoutMs} ms; the request was dropped`, 'REQUEST_TIMEOUT');
        return void (await yoga.requestListener(req, res));
      }
      if (await servePage(req, res, url.pathname)) return;
      return drainThen(req, res, () => sendJson(res, 404, { error: 'Not found. The API is at /graphql' }));
    } catch (error) {
      loggerOf(req, services.log).error({ err: error }, 'request failed');
      if (!res.headersSent) drainThen(req, res, () => graphqlError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR'));
      else res.destroy();
    }
  };
}
