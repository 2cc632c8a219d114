import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, storedFiles, uploadRequest, type TestServer, type UploadFile } from './helpers.ts';
import { stored } from './stored.ts';

const clock = new FakeClock();
let server: TestServer;
let phone: string;
let laptop: string;
let otherShop: string;
const photo: UploadFile = { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' };
const pdf: UploadFile = { content: fixture('waybill.pdf'), name: 'waybill.pdf' };
const gif: UploadFile = { content: fixture('label.gif'), name: 'label.gif' };
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  server = await startServer({ MAX_FILES: '4', SWEEP_INTERVAL: '1h' }, { clock });
  phone = await server.merchantToken('shop-a', 'alice-phone');
  laptop = await server.merchantToken('shop-a', 'bob-laptop');
  otherShop = await server.merchantToken('shop-b');
});
afterAll(() => server.stop());

const DRAFT = `draft { explanation updatedAt files { id fileName contentType byteSize sha256 } }`;
const BASE = `__typename ... on Error { message } ... on InvalidInputError { field } ... on EvidenceRequestClosedError { status }`;
const RESULT = `${BASE} ... on FileRejectedError { fileName reason }`;

async function save(token: string, evidenceRequestId: string, explanation: string) {
  const res = await server.gql(token, `mutation($input: SaveEvidenceDraftInput!) { saveEvidenceDraft(input: $input) { ${BASE} ... on SaveEvidenceDraftPayload { ${DRAFT} } } }`, {
    input: { evidenceRequestId, explanation },
  });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.saveEvidenceDraft;
}

async function stage(token: string, evidenceRequestId: string, files: UploadFile[]) {
  const query = `mutation($input: StageEvidenceFilesInput!) { stageEvidenceFiles(input: $input) { ${RESULT} ... on StageEvidenceFilesPayload { ${DRAFT} } } }`;
  const res = await uploadRequest(server.url, token, query, { input: { evidenceRequestId, files: [] } }, 'input.files', files);
  return ((await res.json()) as any).data.stageEvidenceFiles;
}

async function submit(token: string, input: Record<string, unknown>, files: UploadFile[] = []) {
  const query = `mutation($input: SubmitEvidenceInput!) { submitEvidence(input: $input) { ${RESULT} ... on SubmitEvidencePayload { submission { id files { id fileName sha256 } } } } }`;
  if (files.length === 0) return (await server.gql(token, query, { input })).data!.submitEvidence;
  const res = await uploadRequest(server.url, token, query, { input: { ...input, files: [] } }, 'input.files', files);
  return ((await res.json()) as any).data.submitEvidence;
}

async function draftOf(token: string, requestId: string) {
  const res = await server.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status ${DRAFT} } } }`, { id: requestId });
  return res.data!.node;
}

async function until(check: () => boolean | Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const onDisk = (hash: string) => storedFiles(server.dataDir).some((f) => f.endsWith(hash));

describe('drafts across devices', () => {
  it('saves on one device, stages on another, and submits new and staged files together; the log names every SHA-256', async () => {
    const { requestId, afterSaleId } = await openCase(server, 'shop-a');
    expect((await draftOf(phone, requestId!)).draft).toBeNull();

    const saved = await save(phone, requestId!, '  Packed with care  ');
    expect(saved.__typename).toBe('SaveEvidenceDraftPayload');
    expect(saved.draft).toMatchObject({ explanation: 'Packed with care', files: [] });

    const staged = await stage(laptop, requestId!, [pdf, gif]);
    expect(staged.__typename).toBe('StageEvidenceFilesPayload');
    expect(staged.draft.explanation).toBe('Packed with care');
    expect(staged.draft.files.map((f: any) => [f.fileName, f.contentType, f.sha256])).toEqual([
      ['waybill.pdf', 'application/pdf', sha(pdf.content as string)],
      ['label.gif', 'image/gif', sha(gif.content as string)],
    ]);
    const [pdfId, gifId] = staged.draft.files.map((f: any) => f.id);

    // The phone sees what the laptop staged; the platform and other shops see no draft.
    expect((await draftOf(phone, requestId!)).draft.files.map((f: any) => f.id)).toEqual([pdfId, gifId]);
    expect((await draftOf(await server.platformToken(), requestId!)).draft).toBeNull();
    expect((await draftOf(otherShop, requestId!))).toBeNull();
    // Staged files are nodes of their own shop only.
    const node = `query($id: ID!) { node(id: $id) { id ... on EvidenceFile { fileName } } }`;
    expect((await server.gql(phone, node, { id: gifId })).data!.node).toEqual({ id: gifId, fileName: 'label.gif' });
    expect((await server.gql(otherShop, node, { id: gifId })).data!.node).toBeNull();

    const result = await submit(phone, { evidenceRequestId: requestId, explanation: 'Packed with care', stagedFileIds: [gifId, pdfId] }, [photo]);
    expect(result.__typename).toBe('SubmitEvidencePayload');
    expect(result.submission.files.map((f: any) => f.fileName)).toEqual(['parcel-photo.jpg', 'label.gif', 'waybill.pdf']);
    expect(result.submission.files.slice(1).map((f: any) => f.id)).toEqual([gifId, pdfId]);

    const after = await draftOf(laptop, requestId!);
    expect(after).toMatchObject({ status: 'SUBMITTED', draft: null });
    const log = await stored(server.dataDir, (db) =>
      db.get<{ summary: string }>(`SELECT summary FROM after_sale_logs WHERE action = 'EVIDENCE_SUBMITTED' AND after_sale_id = ?`, Number(Buffer.from(afterSaleId, 'base64').toString().split(':')[1])),
    );
    for (const f of [photo, gif, pdf]) expect(log!.summary).toContain(sha(f.content as string));
    expect(await stored(server.dataDir, (db) => db.count('SELECT count(*) AS n FROM evidence_drafts'))).toBe(0);
    expect(onDisk(sha(gif.content as string))).toBe(true);
  });

  it('removes a staged file, and its bytes once no row refers to them', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const heic = { content: fixture('parcel-photo.heic'), name: 'parcel-photo.heic' };
    const staged = await stage(phone, requestId!, [heic]);
    const id = staged.draft.files[0].id;
    expect(onDisk(sha(heic.content))).toBe(true);
    expect((await server.gql(otherShop, `mutation($id: ID!) { removeStagedFile(id: $id) { __typename } }`, { id })).data!.removeStagedFile.__typename).toBe('NotFoundError');
    const removed = await server.gql(laptop, `mutation($id: ID!) { removeStagedFile(id: $id) { __typename ... on RemoveStagedFilePayload { draft { files { id } } } } }`, { id });
    expect(removed.data!.removeStagedFile).toEqual({ __typename: 'RemoveStagedFilePayload', draft: { files: [] } });
    await until(() => !onDisk(sha(heic.content)));
  });
});

describe('drafts obey the submission rules', () => {
  it('stages none of a batch with one refused file', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const before = storedFiles(server.dataDir);
    const bad = await stage(phone, requestId!, [gif, { content: fixture('spoofed-html.png'), name: 'spoofed-html.png' }]);
    expect(bad).toMatchObject({ __typename: 'FileRejectedError', fileName: 'spoofed-html.png', reason: 'UNSUPPORTED_TYPE' });
    expect((await draftOf(phone, requestId!)).draft).toBeNull();
    expect(storedFiles(server.dataDir)).toEqual(before);
  });

  it('holds the draft to MAX_FILES and submissions to MAX_FILES in all', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    expect((await stage(phone, requestId!, [gif, gif, gif])).__typename).toBe('StageEvidenceFilesPayload');
    expect(await stage(phone, requestId!, [pdf, photo])).toMatchObject({ __typename: 'InvalidInputError', field: 'files' });
    const ids = (await draftOf(phone, requestId!)).draft.files.map((f: any) => f.id);
    expect(ids).toHaveLength(3);
    const tooMany = await submit(phone, { evidenceRequestId: requestId, explanation: 'All of them', stagedFileIds: ids }, [photo, pdf]);
    expect(tooMany).toMatchObject({ __typename: 'InvalidInputError', field: 'files' });
  });

  it('refuses staged ids that are not in this round\'s draft with InvalidInputError on stagedFileIds, and stores nothing', async () => {
    const mine = await openCase(server, 'shop-a');
    const other = await openCase(server, 'shop-a');
    const foreign = await openCase(server, 'shop-b');
    const otherId = (await stage(phone, other.requestId!, [gif])).draft.files[0].id;
    const foreignId = (await stage(otherShop, foreign.requestId!, [gif])).draft.files[0].id;
    const ownId = (await stage(phone, mine.requestId!, [pdf])).draft.files[0].id;
    for (const ids of [[otherId], [foreignId], ['RXZpZGVuY2VGaWxlOjk5OTk5'], ['garbage'], [ownId, ownId]]) {
      const res = await submit(phone, { evidenceRequestId: mine.requestId, explanation: 'With a stranger', stagedFileIds: ids });
      expect(res).toMatchObject({ __typename: 'InvalidInputError', field: 'stagedFileIds' });
    }
    expect((await draftOf(phone, mine.requestId!))).toMatchObject({ status: 'OPEN', draft: { files: [{ id: ownId }] } });
    expect(await stored(server.dataDir, (db) => db.count('SELECT count(*) AS n FROM evidence_submissions WHERE request_id = ?', Number(Buffer.from(mine.requestId!, 'base64').toString().split(':')[1])))).toBe(0);
  });

  it('answers a retry with the same staged ids with the first answer, and other staged ids with a conflict', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const files = (await stage(phone, requestId!, [gif, pdf])).draft.files.map((f: any) => f.id);
    const input = { evidenceRequestId: requestId, explanation: 'Once only', idempotencyKey: `k-${requestId}`, stagedFileIds: files };
    const first = await submit(phone, input);
    expect(first.__typename).toBe('SubmitEvidencePayload');
    expect(await submit(laptop, input)).toEqual(first);
    expect((await submit(phone, { ...input, stagedFileIds: [...files].reverse() })).__typename).toBe('IdempotencyConflictError');
  });
});

describe('a closing round drops its draft', () => {
  it('on cancel, deletes the draft and its staged files, and their bytes unless another row refers to them', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const mov = { content: fixture('unboxing.mov'), name: 'unboxing.mov' };
    await save(phone, requestId!, 'Half done');
    await stage(phone, requestId!, [mov, gif]);
    const platform = await server.platformToken();
    await server.gql(platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: requestId });
    expect(await draftOf(phone, requestId!)).toMatchObject({ status: 'CANCELLED', draft: null });
    const id = Number(Buffer.from(requestId!, 'base64').toString().split(':')[1]);
    expect(await stored(server.dataDir, async (db) => [
      await db.count('SELECT count(*) AS n FROM evidence_drafts WHERE request_id = ?', id),
      await db.count('SELECT count(*) AS n FROM evidence_files WHERE staged_for = ?', id),
    ])).toEqual([0, 0]);
    await until(() => !onDisk(sha(mov.content)));
    // The GIF was submitted earlier: its bytes stay.
    expect(onDisk(sha(gif.content as string))).toBe(true);
    expect((await save(phone, requestId!, 'Too late')).__typename).toBe('EvidenceRequestClosedError');
  });

  it('on the scheduler\'s expiry, deletes the draft in the same transaction', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    await save(laptop, requestId!, 'Never sent');
    await stage(laptop, requestId!, [{ content: fixture('chat-screenshot.webp'), name: 'chat.webp' }]);
    clock.advance(24 * 3_600_000);
    await server.app.scheduler.drain();
    expect(await draftOf(phone, requestId!)).toMatchObject({ status: 'EXPIRED', draft: null });
    const id = Number(Buffer.from(requestId!, 'base64').toString().split(':')[1]);
    expect(await stored(server.dataDir, (db) => db.count('SELECT count(*) AS n FROM evidence_files WHERE staged_for = ? OR (submission_id IS NULL AND staged_for IS NULL)', id))).toBe(0);
    await until(() => !onDisk(sha(fixture('chat-screenshot.webp'))));
  });
});
