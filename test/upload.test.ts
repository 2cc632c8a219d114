import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, openCase, startServer, storedFiles, submitEvidence, uploadRequest, SUBMIT, type TestServer } from './helpers.ts';

let server: TestServer;
let merchant: string;

beforeAll(async () => {
  server = await startServer();
  merchant = await server.merchantToken('shop-a');
});
afterAll(() => server.stop());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('submitEvidence over multipart', () => {
  it('accepts a photo and a video, stores them byte-exact, and serves them through the signed link', async () => {
    const { requestId, afterSaleId } = await openCase(server, 'shop-a');
    const { status, body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: '  We shipped it intact.  ' }, [
      { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg', type: 'image/jpeg' },
      { content: fixture('unboxing.mp4'), name: 'unboxing.mp4', type: 'video/mp4' },
    ]);
    expect(status).toBe(200);
    const result = body.data!.submitEvidence;
    expect(result.__typename).toBe('SubmitEvidencePayload');
    expect(result.afterSale).toEqual({ id: afterSaleId, status: 'EVIDENCE_SUBMITTED' });
    expect(result.submission.explanation).toBe('We shipped it intact.');
    const [photo, video] = result.submission.files;
    expect(photo).toMatchObject({ fileName: 'parcel-photo.jpg', contentType: 'image/jpeg', byteSize: 23566, sha256: 'a89f7d3f910b99e9037900242aecca60fd0d00774ea17f28954af45275f05b72' });
    expect(video).toMatchObject({ fileName: 'unboxing.mp4', contentType: 'video/mp4', byteSize: 15258 });

    for (const [file, name] of [[photo, 'parcel-photo.jpg'], [video, 'unboxing.mp4']] as const) {
      const res = await fetch(file.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(file.contentType);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.equals(fs.readFileSync(fixture(name)))).toBe(true);
      expect(sha(bytes)).toBe(file.sha256);
    }

    const log = await server.gql(merchant, `query($id: ID!) { afterSale(id: $id) { logs { edges { node { action actor actorId summary } } } } }`, { id: afterSaleId });
    const submitted = log.data!.afterSale.logs.edges.map((e: any) => e.node).find((n: any) => n.action === 'EVIDENCE_SUBMITTED');
    expect(submitted).toMatchObject({ actor: 'MERCHANT', actorId: 'shop-a-staff' });
    expect(submitted.summary).toContain(photo.sha256);
    expect(submitted.summary).toContain(video.sha256);
  });

  it('accepts every kind of file the contract lists, with the type sniffed from the bytes', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const names = ['chat-screenshot.png', 'chat-screenshot.webp', 'label.gif', 'parcel-photo.heic', 'waybill.pdf', 'unboxing.mov'];
    const { body } = await submitEvidence(
      server,
      merchant,
      { evidenceRequestId: requestId!, explanation: 'All kinds' },
      names.map((name) => ({ content: fixture(name), name: `renamed-${name}.bin`, type: 'text/plain' })),
    );
    expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(body.data!.submitEvidence.submission.files.map((f: any) => f.contentType)).toEqual([
      'image/png', 'image/webp', 'image/gif', 'image/heic', 'application/pdf', 'video/quicktime',
    ]);
  });

  it('refuses HTML named .png with FileRejectedError and stores no row and no file', async () => {
    const { requestId, afterSaleId } = await openCase(server, 'shop-a');
    const before = storedFiles(server.dataDir);
    const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Look at this' }, [
      { content: fixture('parcel-photo.jpg'), name: 'ok.jpg' },
      { content: fixture('spoofed-html.png'), name: 'spoofed-html.png', type: 'image/png' },
    ]);
    expect(body.data!.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: 'spoofed-html.png', reason: 'UNSUPPORTED_TYPE' });
    expect(storedFiles(server.dataDir)).toEqual(before);
    const after = await server.gql(merchant, `query($id: ID!) { afterSale(id: $id) { status evidenceRequest { status submission { id } } } }`, { id: afterSaleId });
    expect(after.data!.afterSale).toEqual({ status: 'AWAITING_MERCHANT_EVIDENCE', evidenceRequest: { status: 'OPEN', submission: null } });
  });

  it('refuses an executable named .jpg', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Look at this' }, [
      { content: fixture('spoofed-exe.jpg'), name: 'spoofed-exe.jpg', type: 'image/jpeg' },
    ]);
    expect(body.data!.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', reason: 'UNSUPPORTED_TYPE' });
  });

  it('answers a multipart request without a preflight header with 403 and stores nothing', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const res = await uploadRequest(server.url, merchant, SUBMIT, { input: { evidenceRequestId: requestId, explanation: 'x y', files: [] } }, 'input.files', [
      { content: fixture('parcel-photo.jpg'), name: 'a.jpg' },
    ], {});
    expect(res.status).toBe(403);
    const round = await server.gql(merchant, `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status } } }`, { id: requestId });
    expect(round.data!.node.status).toBe('OPEN');
  });

  it('serves no file for a tampered or expired link', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Photo attached' }, [
      { content: fixture('label.gif'), name: 'label.gif' },
    ]);
    const url = new URL(body.data!.submitEvidence.submission.files[0].url);
    const tampered = new URL(url);
    tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 1000));
    expect((await fetch(tampered)).status).toBe(403);
    const expired = new URL(url);
    expired.searchParams.set('expires', String(Date.now() - 1));
    expect((await fetch(expired)).status).toBe(403);
    const otherFile = new URL(url);
    otherFile.pathname = otherFile.pathname.replace(/\/files\/\d+/, '/files/999999');
    expect((await fetch(otherFile)).status).toBe(403);
  });

  it('accepts a video of exactly the size limit and refuses one a byte larger', async () => {
    const video = fs.readFileSync(fixture('unboxing.mp4'));
    const tight = await startServer({ MAX_VIDEO_BYTES: String(video.length) });
    try {
      const token = await tight.merchantToken('shop-a');
      const exact = await openCase(tight, 'shop-a');
      const ok = await submitEvidence(tight, token, { evidenceRequestId: exact.requestId!, explanation: 'Exactly at the limit' }, [{ content: video, name: 'exact.mp4' }]);
      expect(ok.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
      const over = await openCase(tight, 'shop-a');
      const bigger = Buffer.concat([video, Buffer.alloc(1)]);
      const refused = await submitEvidence(tight, token, { evidenceRequestId: over.requestId!, explanation: 'One byte over' }, [{ content: bigger, name: 'over.mp4' }]);
      expect(refused.body.data!.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: 'over.mp4', reason: 'TOO_LARGE' });
    } finally {
      await tight.stop();
    }
  });
});
