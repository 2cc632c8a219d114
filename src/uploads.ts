import { createHash, randomBytes, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Viewer } from './auth.ts';
import type { Services } from './context.ts';
import { DeadlinePassedError, DraftFullError, EvidenceRequestClosedError, NotFoundError, OverTotalError } from './db/errors.ts';
import type { UploadRow } from './db/schema.ts';
import { advanceUpload, completeUpload, createUpload, dropUpload, findUpload } from './db/uploads.ts';
import { drainThen } from './http-drain.ts';
import { decodeId, globalId, rowId } from './schema/ids.ts';
import { sanitizeFileName, sniff, SNIFF_BYTES } from './storage/sniff.ts';

// tus 1.0.0 (core, creation, creation-with-upload, termination, expiration) at /uploads,
// written here rather than with @tus/server: its stores see no request, so the shop's
// token, the round's rules and the draft's limits would each need a hook of their own,
// its upload state would live beside our table, and dropping uploads could not share
// the transaction that closes a round. The state is the `uploads` table; the bytes
// are FILES_DIR/uploads/<id>.part, and the table's offset only counts synced bytes.

const TUS_VERSION = '1.0.0';
const OCTETS = 'application/offset+octet-stream';
const WRITE_BATCH = 1024 * 1024;

class TusRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The metadata header: `key base64,key base64`, values optional. */
function parseMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (header ?? '').split(',')) {
    const [key, value] = pair.trim().split(' ');
    if (key) out.set(key, value ? Buffer.from(value, 'base64').toString('utf8') : '');
  }
  return out;
}

function refusalOf(error: unknown): TusRefusal {
  if (error instanceof TusRefusal) return error;
  if (error instanceof NotFoundError) return new TusRefusal(404, 'No such upload or round');
  if (error instanceof EvidenceRequestClosedError || error instanceof DeadlinePassedError) return new TusRefusal(409, error.message);
  if (error instanceof DraftFullError) return new TusRefusal(409, error.message);
  if (error instanceof OverTotalError) return new TusRefusal(413, error.message);
  throw error;
}

/** Links (or, across file systems, copies) finished bytes into the content-addressed store. */
async function placeFile(from: string, to: string): Promise<void> {
  await fsp.mkdir(path.dirname(to), { recursive: true });
  try {
    await fsp.link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EXDEV') throw error;
    await fsp.copyFile(from, to, fs.constants.COPYFILE_EXCL).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function createUploadHandler(services: Services) {
  const { db, parts, store, config, clock, auth } = services;
  const limits = config.limits;
  const maxSize = Math.max(limits.maxDocumentBytes, limits.maxVideoBytes);
  /** Uploads with a PATCH in progress in this process. */
  const busy = new Set<string>();
  /** Running hashes of uploads patched in this process, so completing one need not read it again. */
  const hashes = new Map<string, { hash: Hash; at: number }>();

  function answer(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
    const all: Record<string, string> = { 'tus-resumable': TUS_VERSION, 'cache-control': 'no-store', ...headers, 'content-length': String(Buffer.byteLength(body)) };
    if (body) all['content-type'] = 'text/plain; charset=utf-8';
    drainThen(req, res, () => {
      if (res.headersSent || !res.writable) return;
      res.writeHead(status, all);
      res.end(body);
    });
  }

  const expires = (row: UploadRow) => ({ 'upload-expires': new Date(row.expiresAt).toUTCString() });

  async function drop(id: string): Promise<void> {
    hashes.delete(id);
    await dropUpload(db, id);
    parts.remove(id);
  }

  /**
   * Appends the request body at the upload's offset. Sniffs once the first
   * 4 KiB (or the whole file) are there, refusing a type we do not take
   * (415) or a file over its kind's limit (413), and drops the upload then.
   * A body that breaks off keeps what arrived; a completed file is hashed and
   * staged. Resolves to the headers of the answer.
   */
  async function append(upload: UploadRow, req: IncomingMessage): Promise<Record<string, string>> {
    const { id } = upload;
    if (busy.has(id)) throw new TusRefusal(409, 'Another request is writing to this upload');
    busy.add(id);
    const partPath = parts.pathOf(id);
    let offset = upload.offset;
    let contentType = upload.contentType;
    let state = hashes.get(id);
    if (state && state.at !== offset) state = undefined;
    if (!state && offset === 0) state = { hash: createHash('sha256'), at: 0 };
    let file: fsp.FileHandle;
    try {
      file = await fsp.open(partPath, 'r+');
    } catch {
      busy.delete(id);
      await drop(id);
      throw new TusRefusal(404, 'The upload\'s bytes are gone');
    }
    try {
      // Bytes past the recorded offset were never acknowledged (a crash between write and record).
      await file.truncate(offset);
      let head = contentType ? null : Buffer.alloc(0);
      if (head && offset > 0) {
        head = Buffer.alloc(Math.min(offset, SNIFF_BYTES));
        await file.read(head, 0, head.length, 0);
      }
      const fileName = upload.fileName;
      // Arrived bytes are written in batches: one write per WRITE_BATCH, not one per socket read.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const batch = pending;
        pending = [];
        await file.writev(batch, offset);
        for (const b of batch) state?.hash.update(b);
        offset += pendingBytes;
        pendingBytes = 0;
      };
      req.setTimeout(limits.idleTimeoutMs, () => req.destroy());
      try {
        // Not destroyed on a refusal: the client is to read the answer.
        for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          if (head) {
            head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES)]);
            if (head.length >= Math.min(SNIFF_BYTES, upload.length)) {
              const found = await sniff(head);
              if (!found) throw new TusRefusal(415, `${fileName} is not a JPEG, PNG, WebP, GIF, HEIC, PDF, MP4 or QuickTime file`);
              const max = found.kind === 'video' ? limits.maxVideoBytes : limits.maxDocumentBytes;
              if (upload.length > max) throw new TusRefusal(413, `${fileName} is over the ${max} byte limit for its type`);
              contentType = found.contentType;
              head = null;
            }
          }
          if (offset + pendingBytes + chunk.length > upload.length) throw new TusRefusal(413, 'More bytes than Upload-Length');
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH) await flush();
        }
      } catch (error) {
        if (error instanceof TusRefusal) {
          await drop(id);
          throw error;
        }
        // The client went away or stalled: what arrived is kept, for it to resume.
      } finally {
        req.setTimeout(0);
      }
      await flush();
      await file.sync();
    } finally {
      await file.close();
      busy.delete(id);
    }
    const complete = offset === upload.length && req.complete;
    if (!complete) {
      if (offset !== upload.offset && !(await advanceUpload(db, id, upload.offset, offset, contentType))) {
        parts.remove(id);
        throw new TusRefusal(404, 'The upload was dropped meanwhile');
      }
      if (state) hashes.set(id, { hash: state.hash, at: offset });
      return { 'upload-offset': String(offset), ...expires(upload) };
    }
    hashes.delete(id);
    const sha256 = state ? state.hash.digest('hex') : await hashFile(partPath);
    // The offset is not recorded first: a crash before this commits leaves the upload where it was.
    try {
      const staged = await completeUpload(
        db,
        upload,
        { fileName: upload.fileName, contentType: contentType!, byteSize: upload.length, sha256 },
        limits,
        clock,
        () => placeFile(partPath, store.pathOf(sha256)),
      );
      parts.remove(id);
      return { 'upload-offset': String(offset), 'evidence-file-id': globalId('EvidenceFile', staged.id) };
    } catch (error) {
      const refusal = refusalOf(error);
      await drop(id);
      throw refusal;
    }
  }

  async function create(viewer: Viewer & { role: 'merchant' }, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const lengthHeader = req.headers['upload-length'];
    if (typeof lengthHeader !== 'string' || !/^\d{1,15}$/.test(lengthHeader)) throw new TusRefusal(400, 'Upload-Length is required (deferred lengths are not supported)');
    const length = Number(lengthHeader);
    const metadata = parseMetadata(req.headers['upload-metadata'] as string | undefined);
    const roundId = metadata.get('evidenceRequestId');
    if (!roundId) throw new TusRefusal(400, 'Upload-Metadata must name the evidenceRequestId');
    // A malformed or foreign id names no round: the rule answers it as an unknown one (404).
    const requestId = rowId(decodeId(roundId), 'EvidenceRequest');
    const fileName = sanitizeFileName(metadata.get('filename'));
    if (length === 0) throw new TusRefusal(400, `${fileName} is empty`);
    if (length > maxSize) throw new TusRefusal(413, `Upload-Length is over the ${maxSize} byte limit`);
    const id = randomBytes(16).toString('hex');
    // The part first: a part without a row is removed at start, a row without its part would be a lie.
    fs.writeFileSync(parts.pathOf(id), '', { flag: 'wx' });
    let upload: UploadRow;
    try {
      upload = await createUpload(db, { id, merchantId: viewer.merchantId, requestId, fileName, length }, limits, clock, config.uploadExpiryMs);
    } catch (error) {
      parts.remove(id);
      throw error;
    }
    const base = config.publicUrl ?? `http://${req.headers.host ?? `${config.host}:${config.port}`}`;
    const headers: Record<string, string> = { location: `${base}/uploads/${id}`, ...expires(upload) };
    if ((req.headers['content-type'] ?? '').toLowerCase() === OCTETS) {
      try {
        Object.assign(headers, await append(upload, req));
      } catch (error) {
        return answer(req, res, refusalOf(error).status, {}, (error as Error).message);
      }
    }
    answer(req, res, 201, headers);
  }

  return async function handleUploads(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = /^\/uploads\/([0-9a-f]{32})$/.exec(url.pathname)?.[1];
    const collection = url.pathname === '/uploads' || url.pathname === '/uploads/';
    if (!id && !collection) return answer(req, res, 404, {}, 'No such upload');
    if (req.method === 'OPTIONS') {
      return answer(req, res, 204, {
        'tus-version': TUS_VERSION,
        'tus-extension': 'creation,creation-with-upload,termination,expiration',
        'tus-max-size': String(maxSize),
      });
    }
    if (req.headers['tus-resumable'] !== TUS_VERSION) return answer(req, res, 412, { 'tus-version': TUS_VERSION }, 'Tus-Resumable: 1.0.0 is required');
    let viewer: Viewer | null = null;
    try {
      viewer = await auth.fromHeader(req.headers.authorization);
    } catch {
      viewer = null;
    }
    if (!viewer) return answer(req, res, 401, { 'www-authenticate': 'Bearer' }, 'A valid bearer token is required');
    try {
      if (collection) {
        if (req.method !== 'POST') return answer(req, res, 405, { allow: 'OPTIONS, POST' }, 'POST creates an upload');
        if (viewer.role !== 'merchant') return answer(req, res, 403, {}, 'Only a merchant uploads evidence');
        return await create(viewer, req, res);
      }
      // An upload is its shop's alone: to any other token it does not exist.
      const upload = viewer.role === 'merchant' ? await findUpload(db, id!, viewer.merchantId, clock.now()) : undefined;
      if (!upload) return answer(req, res, 404, {}, 'No such upload');
      if (req.method === 'HEAD') {
        return answer(req, res, 200, { 'upload-offset': String(upload.offset), 'upload-length': String(upload.length), ...expires(upload) });
      }
      if (req.method === 'DELETE') {
        await drop(upload.id);
        return answer(req, res, 204);
      }
      if (req.method !== 'PATCH') return answer(req, res, 405, { allow: 'OPTIONS, HEAD, PATCH, DELETE' }, 'Not a tus method');
      if ((req.headers['content-type'] ?? '').toLowerCase() !== OCTETS) return answer(req, res, 415, {}, `Content-Type must be ${OCTETS}`);
      const offset = req.headers['upload-offset'];
      if (typeof offset !== 'string' || !/^\d{1,15}$/.test(offset)) return answer(req, res, 400, {}, 'Upload-Offset is required');
      if (Number(offset) !== upload.offset) return answer(req, res, 409, { 'upload-offset': String(upload.offset) }, `The upload is at ${upload.offset}`);
      return answer(req, res, 204, await append(upload, req));
    } catch (error) {
      const refusal = refusalOf(error);
      return answer(req, res, refusal.status, {}, refusal.message);
    }
  };
}
