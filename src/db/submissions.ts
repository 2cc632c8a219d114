import { and, eq } from 'drizzle-orm';
import type { Db } from './client.ts';
import { writeTransaction } from './client.ts';
import { noChanges } from './changes.ts';
import { DeadlinePassedError, EvidenceRequestClosedError, IdempotencyConflictError, NotFoundError } from './errors.ts';
import { appendLog } from './logs.ts';
import { closeRound, isPastDeadline, loadAfterSale, setAfterSaleStatus } from './rounds.ts';
import { evidenceFiles, evidenceRequests, evidenceSubmissions, type EvidenceRequestRow } from './schema.ts';
import { cleanText } from './text.ts';

export interface StoredFile {
  fileName: string;
  contentType: string;
  byteSize: number;
  sha256: string;
}

export interface SubmissionInput {
  merchantId: string;
  staffId: string;
  requestId: number;
  explanation: string;
  files: StoredFile[];
  idempotencyKey: string | null;
  fingerprint: string;
}

/** Checks before any file is read, so a closed round does not cost the merchant an upload. */
export function openRoundForMerchant(db: Db, merchantId: string, requestId: number, now: number): EvidenceRequestRow {
  const round = db
    .select()
    .from(evidenceRequests)
    .where(and(eq(evidenceRequests.id, requestId), eq(evidenceRequests.merchantId, merchantId)))
    .get();
  if (!round) throw new NotFoundError('evidence request');
  if (round.status !== 'OPEN') throw new EvidenceRequestClosedError(round.status);
  if (isPastDeadline(round.dueAt, now)) throw new DeadlinePassedError(new Date(round.dueAt));
  return round;
}

export function explanationOf(text: string, limits: { minExplanation: number; maxExplanation: number }): string {
  return cleanText(text, 'explanation', limits.minExplanation, limits.maxExplanation);
}

function findByIdempotencyKey(tx: Db, merchantId: string, key: string) {
  return tx
    .select()
    .from(evidenceSubmissions)
    .where(and(eq(evidenceSubmissions.merchantId, merchantId), eq(evidenceSubmissions.idempotencyKey, key)))
    .get();
}

export function hasIdempotencyKey(db: Db, merchantId: string, key: string): boolean {
  return findByIdempotencyKey(db, merchantId, key) !== undefined;
}

/**
 * A retry with an idempotency key already used: the first answer for the same
 * input, a conflict for another. Undefined when the key is new.
 */
export function replayIdempotent(db: Db, merchantId: string, key: string | null, fingerprint: string) {
  if (!key) return undefined;
  const previous = findByIdempotencyKey(db, merchantId, key);
  if (!previous) return undefined;
  if (previous.fingerprint !== fingerprint) throw new IdempotencyConflictError(key);
  return { submission: previous, afterSale: loadAfterSale(db, previous.afterSaleId), replayed: true as const };
}

/**
 * Commits a submission whose files are already hashed and sniffed. The round
 * must still be OPEN and before its deadline at the moment of the commit; the
 * same transaction stores the rows and calls `placeFiles` to move the files
 * into place, so either everything lands or nothing does.
 */
export function commitSubmission(db: Db, input: SubmissionInput, clock: () => number, placeFiles: () => void) {
  return writeTransaction(db, (tx) => {
    // Read the time once the write lock is held: "before dueAt" means at the commit.
    const now = clock();
    const changes = noChanges();
    const replay = replayIdempotent(tx, input.merchantId, input.idempotencyKey, input.fingerprint);
    if (replay) return { ...replay, changes };
    const round = openRoundForMerchant(tx, input.merchantId, input.requestId, now);
    if (!closeRound(tx, round, 'SUBMITTED', now)) throw new EvidenceRequestClosedError('SUBMITTED');
    const submission = tx
      .insert(evidenceSubmissions)
      .values({
        requestId: round.id,
        afterSaleId: round.afterSaleId,
        merchantId: input.merchantId,
        explanation: input.explanation,
        submittedBy: input.staffId,
        submittedAt: now,
        idempotencyKey: input.idempotencyKey,
        fingerprint: input.fingerprint,
      })
      .returning()
      .get();
    tx.insert(evidenceFiles)
      .values(input.files.map((f, position) => ({ ...f, submissionId: submission.id, merchantId: input.merchantId, position })))
      .run();
    setAfterSaleStatus(tx, round.afterSaleId, 'EVIDENCE_SUBMITTED');
    const list = input.files.map((f) => `${f.fileName} (${f.contentType}, ${f.byteSize} bytes, sha256 ${f.sha256})`).join('; ');
    appendLog(tx, changes, {
      afterSaleId: round.afterSaleId,
      at: now,
      actor: { kind: 'MERCHANT', id: input.staffId },
      action: 'EVIDENCE_SUBMITTED',
      summary: `Merchant submitted evidence with ${input.files.length} file(s): ${list}`,
    });
    changes.roundsChanged = true;
    placeFiles();
    return { submission, afterSale: loadAfterSale(tx, round.afterSaleId), replayed: false as const, changes };
  });
}
