import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import { discardDrafts } from './drafts.ts';
import { DeadlinePassedError, EvidenceRequestClosedError, IdempotencyConflictError, InvalidInputError, NotFoundError } from './errors.ts';
import { appendLog } from './logs.ts';
import { closeRound, isPastDeadline, loadAfterSale, setAfterSaleStatus } from './rounds.ts';
import type { AfterSaleRow, EvidenceRequestRow, EvidenceSubmissionRow } from './schema.ts';
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
  /** New files sent with the submission, first. */
  files: StoredFile[];
  /** Staged files of this round's draft, after `files`, in this order. */
  stagedFileIds: number[];
  idempotencyKey: string | null;
  fingerprint: string;
  maxTotalBytes: number;
}

export interface SubmissionResult {
  submission: EvidenceSubmissionRow;
  afterSale: AfterSaleRow;
  replayed: boolean;
}

/** Checks before any file is read, so a closed round does not cost the merchant an upload. */
export async function openRoundForMerchant(db: Db, merchantId: string, requestId: number, now: number): Promise<EvidenceRequestRow> {
  const { evidenceRequests } = db.t;
  const select = db.prepared('submissions.round', () =>
    db.q
      .select()
      .from(evidenceRequests)
      .where(and(eq(evidenceRequests.id, sql.placeholder('id')), eq(evidenceRequests.merchantId, sql.placeholder('merchantId')))),
  );
  const [round] = await select.execute({ id: requestId, merchantId });
  if (!round) throw new NotFoundError('evidence request');
  if (round.status !== 'OPEN') throw new EvidenceRequestClosedError(round.status);
  if (isPastDeadline(round.dueAt, now)) throw new DeadlinePassedError(new Date(round.dueAt));
  return round;
}

export function explanationOf(text: string, limits: { minExplanation: number; maxExplanation: number }): string {
  return cleanText(text, 'explanation', limits.minExplanation, limits.maxExplanation);
}

async function findByIdempotencyKey(db: Db, merchantId: string, key: string): Promise<EvidenceSubmissionRow | undefined> {
  const { evidenceSubmissions } = db.t;
  const [row] = await db.q
    .select()
    .from(evidenceSubmissions)
    .where(and(eq(evidenceSubmissions.merchantId, merchantId), eq(evidenceSubmissions.idempotencyKey, key)));
  return row;
}

export async function hasIdempotencyKey(db: Db, merchantId: string, key: string): Promise<boolean> {
  return (await findByIdempotencyKey(db, merchantId, key)) !== undefined;
}

/**
 * A retry with an idempotency key already used: the first answer for the same
 * input, a conflict for another. Undefined when the key is new.
 */
export async function replayIdempotent(db: Db, merchantId: string, key: string | null, fingerprint: string): Promise<SubmissionResult | undefined> {
  if (!key) return undefined;
  const previous = await findByIdempotencyKey(db, merchantId, key);
  if (!previous) return undefined;
  if (previous.fingerprint !== fingerprint) throw new IdempotencyConflictError(key);
  return { submission: previous, afterSale: await loadAfterSale(db, previous.afterSaleId), replayed: true };
}

/**
 * Commits a submission whose files are already hashed and sniffed. The round
 * must still be OPEN and before its deadline at the moment of the commit; the
 * same transaction stores the rows and calls `placeFiles` to put the files in
 * place before it commits, so either everything lands or nothing does.
 */
export async function commitSubmission(db: Db, input: SubmissionInput, clock: { now(): number }, placeFiles: () => Promise<void>): Promise<SubmissionResult> {
  return db.write(async (tx) => {
    const { evidenceRequests, evidenceSubmissions, evidenceFiles } = tx.t;
    const [ref] = await tx.q
      .select({ afterSaleId: evidenceRequests.afterSaleId })
      .from(evidenceRequests)
      .where(and(eq(evidenceRequests.id, input.requestId), eq(evidenceRequests.merchantId, input.merchantId)));
    // The after-sale first (the one lock order): two submissions for one round, or a submission and
    // the expiry, take their turns here.
    if (ref) await tx.lockAfterSales([ref.afterSaleId]);
    // Read the time once the lock is held: "before dueAt" means at the commit.
    const now = clock.now();
    const replay = await replayIdempotent(tx, input.merchantId, input.idempotencyKey, input.fingerprint);
    if (replay) return replay;
    const round = await openRoundForMerchant(tx, input.merchantId, input.requestId, now);
    if (!(await closeRound(tx, round, 'SUBMITTED', now))) throw new EvidenceRequestClosedError('SUBMITTED');
    const [submission] = await tx.q
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
      .returning();
    const staged = await claimStaged(tx, round.id, input.stagedFileIds, submission!.id, input.files.length);
    const files = [...input.files, ...staged];
    if (files.reduce((sum, f) => sum + f.byteSize, 0) > input.maxTotalBytes) {
      throw new InvalidInputError('files', `The files are over the ${input.maxTotalBytes} byte limit for one submission`);
    }
    if (input.files.length > 0) {
      await tx.q
        .insert(evidenceFiles)
        .values(input.files.map((f, position) => ({ ...f, submissionId: submission!.id, merchantId: input.merchantId, position })));
    }
    await discardDrafts(tx, [round.id]);
    await setAfterSaleStatus(tx, round.afterSaleId, 'EVIDENCE_SUBMITTED');
    const list = files.map((f) => `${f.fileName} (${f.contentType}, ${f.byteSize} bytes, sha256 ${f.sha256})`).join('; ');
    await appendLog(tx, {
      afterSaleId: round.afterSaleId,
      at: now,
      actor: { kind: 'MERCHANT', id: input.staffId },
      action: 'EVIDENCE_SUBMITTED',
      summary: `Merchant submitted evidence with ${files.length} file(s): ${list}`,
    });
    tx.changes!.roundsChanged = true;
    await placeFiles();
    return { submission: submission!, afterSale: await loadAfterSale(tx, round.afterSaleId), replayed: false };
  });
}

/**
 * Moves the round's staged files with these ids into the submission, after
 * the `first` new ones, in the order given. Any id that is not a staged file
 * of this round's draft is InvalidInputError on `stagedFileIds`.
 */
async function claimStaged(tx: Db, requestId: number, ids: number[], submissionId: number, first: number): Promise<StoredFile[]> {
  if (ids.length === 0) return [];
  const { evidenceFiles } = tx.t;
  const rows = await tx.q
    .select()
    .from(evidenceFiles)
    .where(and(inArray(evidenceFiles.id, ids), eq(evidenceFiles.stagedFor, requestId), isNull(evidenceFiles.submissionId)));
  const byId = new Map(rows.map((r) => [r.id, r]));
  if (new Set(ids).size !== ids.length || ids.some((id) => !byId.has(id))) {
    throw new InvalidInputError('stagedFileIds', 'Every staged file must be a different file staged in this round\'s draft');
  }
  const files: StoredFile[] = [];
  for (const [i, id] of ids.entries()) {
    await tx.q.update(evidenceFiles).set({ submissionId, stagedFor: null, position: first + i }).where(eq(evidenceFiles.id, id));
    const { fileName, contentType, byteSize, sha256 } = byId.get(id)!;
    files.push({ fileName, contentType, byteSize, sha256 });
  }
  return files;
}
