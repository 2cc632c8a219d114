import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, tempDir, uploadRequest, type TestServer } from './helpers.ts';

const MiB = 1024 * 1024;
let server: TestServer;
let merchant: string;
let otherShop: string;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A video as the sniffer sees one: a real MP4's first bytes, then noise. */
const video = (size: number) => Buffer.concat([fs.readFileSync(fixture('unboxing.mp4')), randomBytes(size)]).subarray(0, size);
const parts = (dataDir: string) => fs.readdirSync(path.join(dataDir, 'files', 'uploads'));

beforeAll(async () => {
  server = await startServer({ MAX_FILES: '3', MAX_TOTAL_BYTES: String(24 * MiB), MAX_DOCUMENT_BYTES: String(MiB) });
  merchant = await server.merchantToken('shop-a');
  otherShop = await server.merchantToken('shop-b');
});
afterAll(() => server.stop());

function send(base: string, method: string, target: string, token: string | null, headers: Record<string, string> = {}, body?: Buffer) {
  return fetch(target.startsWith('http') ? target : `${base}${target}`, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body ? new Uint8Array(body) : undefined,
  });
}

const metadata = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',');

async function create(s: TestServer, token: string | null, evidenceRequestId: string, length: number, filename = 'clip.mp4') {
  return send(s.url, 'POST', '/uploads', token, { 'upload-length': String(length), 'upload-metadata': metadata({ evidenceRequestId, filename }) });
}

const patch = (s: TestServer, location: string, token: string, offset: number, bytes: Buffer) =>
  send(s.url, 'PATCH', location, token, { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) }, bytes);

async function until(check: () => boolean | Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stagedFile(s: TestServer, token: string, id: string) {
  const res = await s.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceFile { fileName contentType byteSize sha256 } } }`, { id });
  return res.data!.node;
}

describe('tus 1.0.0 at /uploads', () => {
  it('answers OPTIONS without a token with the versions, extensions and the largest per-file limit', async () => {
    const res = await fetch(`${server.url}/uploads`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    expect(res.headers.get('tus-version')).toContain('1.0.0');
    expect(res.headers.get('tus-extension')!.split(',')).toEqual(expect.arrayContaining(['creation', 'termination', 'expiration']));
    expect(res.headers.get('tus-max-size')).toBe(String(200 * MiB));
  });

  it('lets tus-js-client upload in 1 MiB chunks, break off halfway, and resume where the server really is', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const bytes = video(6 * MiB + 12345);
    let aborted!: () => void;
    const halfway = new Promise<void>((resolve) => (aborted = resolve));
    let resumedFrom = -1;
    let resuming = false;
    let fileId: string | undefined;
    let done!: (error?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())));
    const upload: tus.Upload = new tus.Upload(bytes, {
      endpoint: `${server.url}/uploads`,
      chunkSize: MiB,
      retryDelays: null,
      headers: { authorization: `Bearer ${merchant}` },
      metadata: { evidenceRequestId: requestId!, filename: 'unboxing-long.mp4' },
      onProgress: (sent) => {
        if (resuming && resumedFrom < 0) resumedFrom = sent;
        // Mid-chunk: the server keeps what it got of this chunk, which the client never heard about.
        if (!resuming && sent >= bytes.length / 2 + MiB / 2) {
          resuming = true;
          void upload.abort().then(aborted);
        }
      },
      onSuccess: ({ lastResponse }) => {
        fileId = lastResponse.getHeader('Evidence-File-Id');
        done();
      },
      onError: (error) => done(error),
    });
    upload.start();
    await halfway;
    // The server records what arrived once it sees the break; its HEAD is the truth.
    let offset = 0;
    await until(async () => {
      const head = await send(server.url, 'HEAD', upload.url!, merchant);
      const now = Number(head.headers.get('upload-offset'));
      const settled = now > 0 && now === offset;
      offset = now;
      if (!settled) await new Promise((r) => setTimeout(r, 100));
      return settled;
    });
    expect(offset).toBeGreaterThanOrEqual(3 * MiB);
    expect(offset).toBeLessThan(bytes.length);
    const head = await send(server.url, 'HEAD', upload.url!, merchant);
    expect(head.headers.get('upload-length')).toBe(String(bytes.length));

    upload.start();
    await finished;
    expect(resumedFrom).toBeGreaterThanOrEqual(offset);
    expect(fileId).toBeTruthy();
    expect(await stagedFile(server, merchant, fileId!)).toEqual({ fileName: 'unboxing-long.mp4', contentType: 'video/mp4', byteSize: bytes.length, sha256: sha(bytes) });
    expect(sha(fs.readFileSync(path.join(server.dataDir, 'files', sha(bytes).slice(0, 2), sha(bytes))))).toBe(sha(bytes));
    const draft = await server.gql(merchant, `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { draft { files { id } } } } }`, { id: requestId });
    expect(draft.data!.node.draft.files).toEqual([{ id: fileId }]);
    expect(parts(server.dataDir)).toEqual([]);
  });

  it('creates and finishes a small file in one POST (creation-with-upload)', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const gif = fs.readFileSync(fixture('label.gif'));
    const res = await send(server.url, 'POST', '/uploads', merchant, {
      'upload-length': String(gif.length),
      'upload-metadata': metadata({ evidenceRequestId: requestId!, filename: 'label.gif' }),
      'content-type': 'application/offset+octet-stream',
    }, gif);
    expect(res.status).toBe(201);
    expect(res.headers.get('upload-offset')).toBe(String(gif.length));
    expect(await stagedFile(server, merchant, res.headers.get('evidence-file-id')!)).toMatchObject({ contentType: 'image/gif', sha256: sha(gif) });
  });
});

describe('tus refusals', () => {
  it('answers 401 without a valid token', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    expect((await create(server, null, requestId!, 100)).status).toBe(401);
    expect((await create(server, 'not-a-token', requestId!, 100)).status).toBe(401);
    const made = await create(server, merchant, requestId!, 100);
    expect((await send(server.url, 'HEAD', made.headers.get('location')!, null)).status).toBe(401);
  });

  it('answers 404 for another shop\'s or an unknown round, and never shows another shop an upload', async () => {
    const foreign = await openCase(server, 'shop-b');
    expect((await create(server, merchant, foreign.requestId!, 100)).status).toBe(404);
    expect((await create(server, merchant, 'RXZpZGVuY2VSZXF1ZXN0Ojk5OTk5', 100)).status).toBe(404);
    const { requestId } = await openCase(server, 'shop-a');
    const location = (await create(server, merchant, requestId!, 2 * MiB)).headers.get('location')!;
    const platform = await server.platformToken();
    for (const token of [otherShop, platform]) {
      expect((await send(server.url, 'HEAD', location, token)).status).toBe(404);
      expect((await patch(server, location, token, 0, video(4096))).status).toBe(404);
      expect((await send(server.url, 'DELETE', location, token)).status).toBe(404);
    }
    expect((await send(server.url, 'HEAD', `${server.url}/uploads/${'0'.repeat(32)}`, merchant)).status).toBe(404);
    const mine = await send(server.url, 'HEAD', location, merchant);
    expect(mine.status).toBe(200);
    expect(mine.headers.get('upload-offset')).toBe('0');
  });

  it('answers 409 for a closed round, a wrong offset and a full draft', async () => {
    const platform = await server.platformToken();
    const closed = await openCase(server, 'shop-a');
    await server.gql(platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: closed.requestId });
    expect((await create(server, merchant, closed.requestId!, 100)).status).toBe(409);

    const { requestId } = await openCase(server, 'shop-a');
    const location = (await create(server, merchant, requestId!, 2 * MiB)).headers.get('location')!;
    const wrong = await patch(server, location, merchant, 10, video(4096));
    expect(wrong.status).toBe(409);
    expect(wrong.headers.get('upload-offset')).toBe('0');

    const full = await openCase(server, 'shop-a');
    const gif = { content: fixture('label.gif'), name: 'label.gif' };
    const query = `mutation($input: StageEvidenceFilesInput!) { stageEvidenceFiles(input: $input) { __typename } }`;
    await uploadRequest(server.url, merchant, query, { input: { evidenceRequestId: full.requestId, files: [] } }, 'input.files', [gif, gif, gif]);
    expect((await create(server, merchant, full.requestId!, 100)).status).toBe(409);
  });

  it('answers 413 for a length over the largest limit or over what the total leaves, and for a file over its kind\'s limit, dropping it', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    expect((await create(server, merchant, requestId!, 200 * MiB + 1)).status).toBe(413);
    expect((await create(server, merchant, requestId!, 20 * MiB)).status).toBe(201);
    // The unfinished 20 MiB upload keeps its place in the 24 MiB total.
    expect((await create(server, merchant, requestId!, 5 * MiB)).status).toBe(413);

    const other = await openCase(server, 'shop-a');
    const location = (await create(server, merchant, other.requestId!, 2 * MiB, 'big.jpg')).headers.get('location')!;
    const jpeg = Buffer.concat([fs.readFileSync(fixture('parcel-photo.jpg'))]).subarray(0, 8192);
    const before = parts(server.dataDir).length;
    const res = await patch(server, location, merchant, 0, jpeg);
    expect(res.status).toBe(413);
    expect((await send(server.url, 'HEAD', location, merchant)).status).toBe(404);
    expect(parts(server.dataDir)).toHaveLength(before - 1);
  });

  it('answers 415 on the PATCH that brings bytes of no accepted type, and drops the upload with its bytes', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const html = Buffer.from('<!doctype html><html><body>' + 'x'.repeat(5000) + '</body></html>');
    const location = (await create(server, merchant, requestId!, html.length, 'photo.png')).headers.get('location')!;
    const id = location.split('/').pop()!;
    expect(parts(server.dataDir)).toContain(`${id}.part`);
    const res = await patch(server, location, merchant, 0, html);
    expect(res.status).toBe(415);
    expect((await send(server.url, 'HEAD', location, merchant)).status).toBe(404);
    expect(parts(server.dataDir)).not.toContain(`${id}.part`);
    const draft = await server.gql(merchant, `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { draft { files { id } } } } }`, { id: requestId });
    expect(draft.data!.node.draft).toBeNull();
  });

  it('drops an upload on DELETE, with its bytes', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const location = (await create(server, merchant, requestId!, 2 * MiB)).headers.get('location')!;
    expect((await patch(server, location, merchant, 0, video(MiB))).status).toBe(204);
    expect((await send(server.url, 'DELETE', location, merchant)).status).toBe(204);
    expect((await send(server.url, 'HEAD', location, merchant)).status).toBe(404);
    expect(parts(server.dataDir)).not.toContain(`${location.split('/').pop()}.part`);
  });
});

describe('an unfinished upload', () => {
  it('expires after UPLOAD_EXPIRY, and when its round closes, and its bytes go with it', async () => {
    const clock = new FakeClock();
    const s = await startServer({ UPLOAD_EXPIRY: '1h', SWEEP_INTERVAL: '50ms' }, { clock });
    try {
      const token = await s.merchantToken('shop-a');
      const { requestId } = await openCase(s, 'shop-a');
      const made = await create(s, token, requestId!, 2 * MiB);
      expect(new Date(made.headers.get('upload-expires')!).getTime()).toBe(Math.floor((clock.now() + 3_600_000) / 1000) * 1000);
      const location = made.headers.get('location')!;
      expect((await patch(s, location, token, 0, video(MiB))).status).toBe(204);
      clock.advance(3_600_000);
      expect((await send(s.url, 'HEAD', location, token)).status).toBe(404);
      await until(() => parts(s.dataDir).length === 0);

      const second = (await create(s, token, requestId!, 2 * MiB)).headers.get('location')!;
      expect((await patch(s, second, token, 0, video(MiB))).status).toBe(204);
      await s.gql(await s.platformToken(), `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: requestId });
      expect((await send(s.url, 'HEAD', second, token)).status).toBe(404);
      await until(() => parts(s.dataDir).length === 0);
    } finally {
      await s.stop();
    }
  });

  it('resumes after a restart, and bytes the server never acknowledged do not end up in the file', async () => {
    const dataDir = tempDir();
    let s = await startServer({}, { dataDir });
    try {
      const token = await s.merchantToken('shop-a');
      const { requestId } = await openCase(s, 'shop-a');
      const bytes = video(3 * MiB);
      const location = (await create(s, token, requestId!, bytes.length)).headers.get('location')!;
      const id = location.split('/').pop()!;
      expect((await patch(s, location, token, 0, bytes.subarray(0, MiB + 7))).status).toBe(204);
      await s.stop();
      // As if a crash came between writing bytes and recording them.
      fs.appendFileSync(path.join(dataDir, 'files', 'uploads', `${id}.part`), randomBytes(5000));
      s = await startServer({}, { dataDir });
      const path2 = new URL(location).pathname;
      const head = await send(s.url, 'HEAD', path2, token);
      expect(head.headers.get('upload-offset')).toBe(String(MiB + 7));
      const res = await patch(s, path2, token, MiB + 7, bytes.subarray(MiB + 7));
      expect(res.status).toBe(204);
      expect(await stagedFile(s, token, res.headers.get('evidence-file-id')!)).toMatchObject({ byteSize: bytes.length, sha256: sha(bytes) });
      expect(parts(dataDir)).toEqual([]);
    } finally {
      await s.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
