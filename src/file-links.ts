import type fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import send from 'send';
import type { Services } from './context.ts';
import { filesByIds } from './db/evidence.ts';
import { PREVIEW_WIDTH, PreviewsBusyError } from './storage/previews.ts';

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

function linkParams(url: URL) {
  return { expires: Number(url.searchParams.get('expires')), sig: url.searchParams.get('sig') ?? '' };
}

/** The signed links: `/files/<id>/<name>` for the exact bytes, `/previews/<id>/<width>` for a preview. */
export function createFileLinks({ auth, store, previews, db, clock }: Services) {
  function refuseLink(res: ServerResponse): void {
    sendJson(res, 403, { error: 'This link is invalid or has expired; ask the API for a fresh url' });
  }

  /** The one place the links read the database. */
  async function loadFile(id: number) {
    const [file] = await filesByIds(db, [id]);
    return file;
  }

  /**
   * Answers GET and HEAD for one stored file through `send`, which does the
   * ranges (206, 416), HEAD and the conditional requests against our ETag.
   * Caches may keep the answer only as long as the link is still good.
   */
  function sendStored(req: IncomingMessage, res: ServerResponse, root: string, relative: string, expires: number, headers: Record<string, string>): void {
    const maxAge = Math.max(0, Math.floor((expires - clock.now()) / 1000));
    send(req, `/${relative.split(path.sep).join('/')}`, { root, etag: false, lastModified: false, cacheControl: false, index: false })
      .on('file', (_path: string, stat: fs.Stats) => {
        // range-parser 1.x refuses a suffix longer than the file; RFC 9110 (14.1.1) serves the whole file.
        const suffix = /^bytes=\s*-(\d+)\s*$/.exec(req.headers.range ?? '');
        if (suffix && Number(suffix[1]) > stat.size) req.headers.range = 'bytes=0-';
        // A Range header that is not byte ranges at all is ignored (RFC 9110 14.2): the whole file.
        const range = req.headers.range;
        if (range !== undefined && !/^bytes=\s*(\d*-\d*)(\s*,\s*\d*-\d*)*\s*$/.test(range)) delete req.headers.range;
      })
      .on('headers', () => {
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.setHeader('cache-control', `private, max-age=${maxAge}`);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('content-security-policy', "default-src 'none'; sandbox");
      })
      .on('error', (error: { status?: number; headers?: Record<string, string> }) => {
        if (res.headersSent) return void res.destroy();
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        const status = error.status ?? 500;
        if (status === 416) return sendJson(res, 416, { error: 'The range is outside the file' }, error.headers);
        if (status === 404) return sendJson(res, 404, { error: 'No such file' });
        if (status === 412) return sendJson(res, 412, { error: 'The file does not match If-Match' });
        console.error('file link failed', error);
        sendJson(res, 500, { error: 'The file could not be read' });
      })
      .pipe(res);
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = /^\/files\/(\d+)(?:\/[^/]*)?$/.exec(url.pathname);
    const id = match ? Number(match[1]) : NaN;
    const { expires, sig } = linkParams(url);
    if (!Number.isSafeInteger(id) || !auth.verifyFileLink(id, expires, sig, clock.now())) return refuseLink(res);
    const file = await loadFile(id);
    if (!file) return sendJson(res, 404, { error: 'No such file' });
    sendStored(req, res, store.filesDir, path.relative(store.filesDir, store.pathOf(file.sha256)), expires, {
      'content-type': file.contentType,
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.fileName)}`,
      etag: `"${file.sha256}"`,
    });
  }

  /** `/previews/<file id>/<width>`: made on the first request, then read from the previews folder. */
  async function servePreview(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = /^\/previews\/(\d+)\/(\d+)$/.exec(url.pathname);
    const id = match ? Number(match[1]) : NaN;
    const width = match ? Number(match[2]) : NaN;
    const { expires, sig } = linkParams(url);
    if (!Number.isSafeInteger(id) || width !== PREVIEW_WIDTH || !auth.verifyPreviewLink(id, width, expires, sig, clock.now())) {
      return refuseLink(res);
    }
    const file = await loadFile(id);
    let relative: string | null = null;
    try {
      if (file) relative = await previews.ensure(store.pathOf(file.sha256), file.sha256, file.contentType, width);
    } catch (error) {
      if (error instanceof PreviewsBusyError) return sendJson(res, 503, { error: error.message }, { 'retry-after': '2' });
      throw error;
    }
    if (!file || !relative) return sendJson(res, 404, { error: 'This file has no preview' });
    sendStored(req, res, previews.dir, relative, expires, {
      'content-type': 'image/webp',
      'content-disposition': 'inline',
      etag: `"${file.sha256}-w${width}"`,
    });
  }

  return { serveFile, servePreview };
}
