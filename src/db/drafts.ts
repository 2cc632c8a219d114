import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import { DraftFullError, NotFoundError, OverTotalError } from './errors.ts';
import type { EvidenceDraftRow, EvidenceFileRow, EvidenceRequestRow } from './schema.ts';
import { openRoundForMerchant, type StoredFile } from './submissions.ts';
import { cleanText } from './text.ts';

// A draft is the unsent answer to an OPEN round: an explanation and staged
// files (evidence_files rows with `staged_for` set and no submission yet).
// Every change locks the round's after-sale first, as every write does, so a
// draft change and the round's closing take turns.

export interface DraftLimits {
  maxFiles: number;
  maxTotalBytes: number;
}

/**
 * Locks the round's after-sale, then checks the round is the merchant's,
 * OPEN and before its deadline (NotFoundError, EvidenceRequestClosedError,
 * DeadlinePassedError otherwise).
 */
export async function lockOpenRound(tx: Db, merchantId: string, requestId: number, now: number): Promise<EvidenceRequestRow> {
  const { evidenceRequests } = tx.t;
  const [ref] = await tx.q
    .select({ afterSaleId: evidenceRequests.afterSaleId })
    .from(evidenceRequests)
    .where(and(eq(evidenceRequests.id, requestId), eq(evidenceRequests.merchantId, merchantId)));
  if (!ref) throw new NotFoundError('evidence request');
  await tx.lockAfterSales([ref.afterSaleId]);
  return openRoundForMerchant(tx, merchantId, requestId, now);
}

/** How many files the round's draft holds and their bytes. */
export async function stagedUsage(tx: Db, requestId: number): Promise<{ count: number; bytes: number; nextPosition: number }> {
  const { evidenceFiles } = tx.t;
  const [row] = await tx.q
    .select({
      count: sql<number>`count(*)`.mapWith(Number),
      bytes: sql<number>`coalesce(sum(${evidenceFiles.byteSize}), 0)`.mapWith(Number),
      last: sql<number>`coalesce(max(${evidenceFiles.position}), -1)`.mapWith(Number),
    })
    .from(evidenceFiles)
    .where(and(eq(evidenceFiles.stagedFor, requestId), isNull(evidenceFiles.submissionId)));
  return { count: row!.count, bytes: row!.bytes, nextPosition: row!.last + 1 };
}

async function touchDraft(tx: Db, round: EvidenceRequestRow, now: number, explanation?: string): Promise<EvidenceDraftRow> {
  const { evidenceDrafts } = tx.t;
  const [draft] = await tx.q
    .insert(evidenceDrafts)
    .values({ requestId: round.id, merchantId: round.merchantId, explanation: explanation ?? '', updatedAt: now })
    .onConflictDoUpdate({ target: evidenceDrafts.requestId, set: explanation === undefined ? { updatedAt: now } : { explanation, updatedAt: now } })
    .returning();
  return draft!;
}

export async function saveDraft(
  db: Db,
  input: { merchantId: string; requestId: number; explanation: string },
  limits: { maxExplanation: number },
  clock: { now(): number },
): Promise<EvidenceDraftRow> {
  // A draft may be shorter than a submission's minimum, never longer than its maximum.
  const explanation = cleanText(input.explanation, 'explanation', 0, limits.maxExplanation);
  return db.write(async (tx) => {
    const now = clock.now();
    const round = await lockOpenRound(tx, input.merchantId, input.requestId, now);
    return touchDraft(tx, round, now, explanation);
  });
}

/**
 * Stages files that are already hashed and sniffed, after the draft's own:
 * at most `maxFiles` in the draft, and their bytes beside the draft's within
 * the total. `placeFiles` puts the bytes in place inside the transaction.
 */
export async function stageInTransaction(
  tx: Db,
  round: EvidenceRequestRow,
  files: StoredFile[],
  limits: DraftLimits,
  now: number,
  placeFiles: () => Promise<void>,
): Promise<{ draft: EvidenceDraftRow; files: EvidenceFileRow[] }> {
  const { evidenceFiles } = tx.t;
  const usage = await stagedUsage(tx, round.id);
  if (usage.count + files.length > limits.maxFiles) throw new DraftFullError(limits.maxFiles);
  const bytes = files.reduce((sum, f) => sum + f.byteSize, 0);
  if (usage.bytes + bytes > limits.maxTotalBytes) throw new OverTotalError(limits.maxTotalBytes);
  const draft = await touchDraft(tx, round, now);
  const rows = await tx.q
    .insert(evidenceFiles)
    .values(files.map((f, i) => ({ ...f, submissionId: null, stagedFor: round.id, merchantId: round.merchantId, position: usage.nextPosition + i })))
    .returning();
  await placeFiles();
  return { draft, files: rows };
}

export async function stageFiles(
  db: Db,
  input: { merchantId: string; requestId: number; files: StoredFile[] },
  limits: DraftLimits,
  clock: { now(): number },
  placeFiles: () => Promise<void>,
): Promise<EvidenceDraftRow> {
  return db.write(async (tx) => {
    const now = clock.now();
    const round = await lockOpenRound(tx, input.merchantId, input.requestId, now);
    return (await stageInTransaction(tx, round, input.files, limits, now, placeFiles)).draft;
  });
}

/** Takes a staged file out of its draft; its bytes go after the commit unless another row refers to them. */
export async function removeStagedFile(db: Db, merchantId: string, fileId: number, clock: { now(): number }): Promise<EvidenceDraftRow> {
  const { evidenceFiles } = db.t;
  const [file] = await db.q
    .select({ stagedFor: evidenceFiles.stagedFor })
    .from(evidenceFiles)
    .where(and(eq(evidenceFiles.id, fileId), eq(evidenceFiles.merchantId, merchantId), isNull(evidenceFiles.submissionId)));
  if (!file?.stagedFor) throw new NotFoundError('staged file');
  return db.write(async (tx) => {
    const now = clock.now();
    const round = await lockOpenRound(tx, merchantId, file.stagedFor!, now);
    const removed = await tx.q
      .delete(evidenceFiles)
      .where(and(eq(evidenceFiles.id, fileId), eq(evidenceFiles.stagedFor, round.id), isNull(evidenceFiles.submissionId)))
      .returning({ sha256: evidenceFiles.sha256 });
    if (removed.length !== 1) throw new NotFoundError('staged file');
    tx.changes!.discarded.hashes.push(removed[0]!.sha256);
    return touchDraft(tx, round, now);
  });
}

/**
 * A closing round's draft goes in the closing transaction: the draft, its
 * unsubmitted staged files and its unfinished uploads. Their bytes are
 * removed after the commit (see Changes.discarded).
 */
export async function discardDrafts(tx: Db, requestIds: readonly number[]): Promise<void> {
  if (requestIds.length === 0) return;
  const { evidenceDrafts, evidenceFiles, uploads } = tx.t;
  // Prepared once with the ids as one bound value: a deadline batch discards up to 500 rounds' drafts.
  const deleteFiles = tx.prepared('drafts.discardFiles', () =>
    tx.q
      .delete(evidenceFiles)
      .where(and(tx.inIds(evidenceFiles.stagedFor, 'ids'), isNull(evidenceFiles.submissionId)))
      .returning({ sha256: evidenceFiles.sha256 }),
  );
  const deleteDrafts = tx.prepared('drafts.discardDrafts', () => tx.q.delete(evidenceDrafts).where(tx.inIds(evidenceDrafts.requestId, 'ids')));
  const deleteUploads = tx.prepared('drafts.discardUploads', () =>
    tx.q.delete(uploads).where(tx.inIds(uploads.requestId, 'ids')).returning({ id: uploads.id }),
  );
  const ids = tx.ids(requestIds);
  const files = await deleteFiles.execute({ ids });
  await deleteDrafts.execute({ ids });
  const dropped = await deleteUploads.execute({ ids });
  tx.changes!.discarded.hashes.push(...files.map((f) => f.sha256));
  tx.changes!.discarded.uploadIds.push(...dropped.map((u) => u.id));
}

/** Of `hashes`, those no evidence file row refers to any more. */
export async function unreferencedHashes(db: Db, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const { evidenceFiles } = db.t;
  const unique = [...new Set(hashes)];
  const rows = await db.q.selectDistinct({ sha256: evidenceFiles.sha256 }).from(evidenceFiles).where(inArray(evidenceFiles.sha256, unique));
  const kept = new Set(rows.map((r) => r.sha256));
  return unique.filter((h) => !kept.has(h));
}

export async function draftsByRequestIds(db: Db, ids: readonly number[]): Promise<EvidenceDraftRow[]> {
  const { evidenceDrafts } = db.t;
  return db.prepared('drafts.byRequestIds', () => db.q.select().from(evidenceDrafts).where(db.inIds(evidenceDrafts.requestId, 'ids'))).execute({ ids: db.ids(ids) });
}

export async function stagedFilesByRequestIds(db: Db, ids: readonly number[]): Promise<EvidenceFileRow[]> {
  const { evidenceFiles } = db.t;
  const select = db.prepared('drafts.stagedByRequestIds', () =>
    db.q
      .select()
      .from(evidenceFiles)
      .where(and(db.inIds(evidenceFiles.stagedFor, 'ids'), isNull(evidenceFiles.submissionId)))
      .orderBy(asc(evidenceFiles.stagedFor), asc(evidenceFiles.position)),
  );
  return select.execute({ ids: db.ids(ids) });
}
