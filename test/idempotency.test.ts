import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stored } from './stored.ts';
import { FakeClock, fixture, openCase, startServer, storedFiles, submitEvidence, type TestServer, type UploadFile } from './helpers.ts';

let server: TestServer;
let shopA: string;
let shopB: string;
let platform: string;

beforeAll(async () => {
  server = await startServer();
  shopA = await server.merchantToken('shop-a');
  shopB = await server.merchantToken('shop-b');
  platform = await server.platformToken();
});
afterAll(() => server?.stop());

const PHOTO: UploadFile[] = [
  { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' },
  { content: fixture('waybill.pdf'), name: 'waybill.pdf' },
];

/** Submissions stored for a round, straight from the database file. */
function storedSubmissions(requestId: string) {
  const id = Number(Buffer.from(requestId, 'base64').toString().split(':')[1]);
  return stored(server.dataDir, async (db) => ({
    submissions: await db.count('SELECT count(*) AS n FROM evidence_submissions WHERE request_id = ?', id),
    files: await db.count('SELECT count(*) AS n FROM evidence_files f JOIN evidence_submissions s ON s.id = f.submission_id WHERE s.request_id = ?', id),
    logs: await db.count(`SELECT count(*) AS n FROM after_sale_logs l JOIN evidence_requests r ON r.after_sale_id = l.after_sale_id WHERE r.id = ? AND l.action = 'EVIDENCE_SUBMITTED'`, id),
  }));
}

const submission = (result: any) => result.submission as { id: string; submittedAt: string; explanation: string; files: { id: string; sha256: string }[] };
const withoutUrls = (s: ReturnType<typeof submission>) => ({ ...s, files: s.files.map(({ id, sha256 }) => ({ id, sha256 })) });

describe('idempotencyKey', () => {
  it('turns ten identical requests sent at once into one submission, and gives each the same answer', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => submitEvidence(server, shopA, { evidenceRequestId: requestId!, explanation: 'Shipped intact', idempotencyKey: key }, PHOTO)),
    );
    for (const { status, body } of answers) {
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    }
    const first = withoutUrls(submission(answers[0]!.body.data!.submitEvidence));
    for (const { body } of answers) expect(withoutUrls(submission(body.data!.submitEvidence))).toEqual(first);
    expect(await storedSubmissions(requestId!)).toEqual({ submissions: 1, files: 2, logs: 1 });
    // Only the kept files remain: the nine retries' temporary copies are gone.
    expect(storedFiles(server.dataDir).filter((f) => f.startsWith(path.join(server.dataDir, 'tmp')))).toEqual([]);
  });

  it('answers a retry after success with the first submission, even once the after-sale is resolved', async () => {
    const { requestId, afterSaleId } = await openCase(server, 'shop-a');
    const key = randomUUID();
    const input = { evidenceRequestId: requestId!, explanation: 'Shipped intact', idempotencyKey: key };
    const first = await submitEvidence(server, shopA, input, PHOTO);
    const accepted = withoutUrls(submission(first.body.data!.submitEvidence));

    const again = await submitEvidence(server, shopA, { ...input, explanation: '  Shipped intact \n' }, PHOTO);
    expect(again.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(withoutUrls(submission(again.body.data!.submitEvidence))).toEqual(accepted);

    const ruled = await server.gql(
      platform,
      `mutation($input: ResolveArbitrationInput!) { resolveArbitration(input: $input) { __typename } }`,
      { input: { afterSaleId, outcome: 'MERCHANT_FAVORED' } },
    );
    expect(ruled.data!.resolveArbitration.__typename).toBe('ResolveArbitrationPayload');
    const late = await submitEvidence(server, shopA, input, PHOTO);
    expect(late.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(withoutUrls(submission(late.body.data!.submitEvidence))).toEqual(accepted);
    expect(await storedSubmissions(requestId!)).toEqual({ submissions: 1, files: 2, logs: 1 });
  });

  it('refuses the same key with another explanation, other files, or another round with IdempotencyConflictError', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const other = await openCase(server, 'shop-a');
    const key = randomUUID();
    const input = { evidenceRequestId: requestId!, explanation: 'Shipped intact', idempotencyKey: key };
    await submitEvidence(server, shopA, input, PHOTO);

    const variants: [typeof input, UploadFile[]][] = [
      [{ ...input, explanation: 'Something else' }, PHOTO],
      [input, [PHOTO[0]!]],
      [input, [PHOTO[1]!, PHOTO[0]!]],
      [input, [{ ...PHOTO[0]!, name: 'renamed.jpg' }, PHOTO[1]!]],
      [{ ...input, evidenceRequestId: other.requestId! }, PHOTO],
    ];
    for (const [changed, files] of variants) {
      const { body } = await submitEvidence(server, shopA, changed, files);
      expect(body.data!.submitEvidence.__typename).toBe('IdempotencyConflictError');
    }
    expect(await storedSubmissions(requestId!)).toEqual({ submissions: 1, files: 2, logs: 1 });
    // The other round was not answered by the conflicting request.
    expect((await storedSubmissions(other.requestId!)).submissions).toBe(0);
  });

  it('keeps keys per merchant: another shop may use the same key for its own submission', async () => {
    const a = await openCase(server, 'shop-a');
    const b = await openCase(server, 'shop-b');
    const key = 'order-1234-attempt-1';
    const first = await submitEvidence(server, shopA, { evidenceRequestId: a.requestId!, explanation: 'Shop A', idempotencyKey: key }, PHOTO);
    const second = await submitEvidence(server, shopB, { evidenceRequestId: b.requestId!, explanation: 'Shop B', idempotencyKey: key }, PHOTO);
    expect(first.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(second.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(submission(second.body.data!.submitEvidence).id).not.toBe(submission(first.body.data!.submitEvidence).id);
    expect((await storedSubmissions(b.requestId!)).submissions).toBe(1);
  });

  it('forgets a refused submission, so the same key may be used again to retry it', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const key = randomUUID();
    const refused = await submitEvidence(server, shopA, { evidenceRequestId: requestId!, explanation: 'Look', idempotencyKey: key }, [
      { content: fixture('spoofed-html.png'), name: 'spoofed-html.png' },
    ]);
    expect(refused.body.data!.submitEvidence.__typename).toBe('FileRejectedError');
    const retried = await submitEvidence(server, shopA, { evidenceRequestId: requestId!, explanation: 'Look', idempotencyKey: key }, PHOTO);
    expect(retried.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
  });

  it('still answers a retry with the first submission a full day later', async () => {
    const clock = new FakeClock(Date.now());
    const later = await startServer({}, { clock });
    try {
      const token = await later.merchantToken('shop-a');
      const { requestId } = await openCase(later, 'shop-a');
      const input = { evidenceRequestId: requestId!, explanation: 'Shipped intact', idempotencyKey: randomUUID() };
      const first = await submitEvidence(later, token, input, PHOTO);
      clock.advance(24 * 3_600_000);
      const retry = await submitEvidence(later, token, input, PHOTO);
      expect(retry.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
      expect(withoutUrls(submission(retry.body.data!.submitEvidence))).toEqual(withoutUrls(submission(first.body.data!.submitEvidence)));
    } finally {
      await later.stop();
    }
  });
});
