import { and, asc, eq, inArray, isNull, lte, gt, lt, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { writeTransaction } from './client.ts';
import { noChanges, type Changes } from './changes.ts';
import {
  DeadlinePassedError,
  EvidenceRequestClosedError,
  IdempotencyConflictError,
  InvalidStateError,
  NotFoundError,
} from './errors.ts';
import { appendLog, SYSTEM, type Actor } from './logs.ts';
import { createMessage } from './messages.ts';
import {
  afterSales,
  evidenceFiles,
  evidenceRequests,
  evidenceSubmissions,
  type AfterSaleRow,
  type EvidenceFileRow,
  type EvidenceRequestRow,
  type EvidenceSubmissionRow,
  type Outcome,
} from './schema.ts';
import { cleanText, optionalText } from './text.ts';

export interface DeadlineSettings {
  evidenceWindowMs: number;
  reminderLeadMs: number;
}

/** The one rule for "too late": a round takes evidence only strictly before its dueAt. */
export function isPastDeadline(dueAt: number, now: number): boolean {
  return now >= dueAt;
}

/** The one rule for "remind now": less than the lead is left, and the deadline has not passed. */
export function isReminderDue(dueAt: number, now: number, leadMs: number): boolean {
  return dueAt - now < leadMs && !isPastDeadline(dueAt, now);
}

export function secondsRemaining(round: EvidenceRequestRow, now: number): number {
  if (round.status !== 'OPEN') return 0;
  return Math.max(0, Math.floor((round.dueAt - now) / 1000));
}

const iso = (ms: number) => new Date(ms).toISOString();

function loadAfterSale(tx: Db, id: number): AfterSaleRow {
  const row = tx.select().from(afterSales).where(eq(afterSales.id, id)).get();
  if (!row) throw new NotFoundError('after-sale');
  return row;
}

function setAfterSaleStatus(tx: Db, id: number, status: AfterSaleRow['status']): void {
  tx.update(afterSales).set({ status }).where(eq(afterSales.id, id)).run();
}

function sendReminder(tx: Db, changes: Changes, round: EvidenceRequestRow, afterSale: AfterSaleRow, now: number): void {
  const hours = Math.max(0, (round.dueAt - now) / 3_600_000);
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor: SYSTEM,
    action: 'EVIDENCE_REMINDER_SENT',
    summary: `Reminded the merchant: evidence is due at ${iso(round.dueAt)}`,
  });
  createMessage(tx, changes, {
    merchantId: afterSale.merchantId,
    afterSaleId: afterSale.id,
    kind: 'EVIDENCE_DUE_SOON',
    title: '举证即将超时 Evidence due soon',
    body: `售后单 ${afterSale.number} 的举证将于 ${iso(round.dueAt)} 截止，剩余约 ${hours.toFixed(1)} 小时；逾期未举证，平台将默认支持买家。`,
    at: now,
  });
  changes.roundsChanged = true;
}

/** Opens an evidence round on an after-sale the platform is handling. */
export function requestEvidence(
  db: Db,
  input: { afterSaleId: number; instructions: string },
  actor: Actor,
  now: number,
  settings: DeadlineSettings & { maxInstructions: number },
): { round: EvidenceRequestRow; changes: Changes } {
  const instructions = cleanText(input.instructions, 'instructions', 1, settings.maxInstructions);
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const afterSale = loadAfterSale(tx, input.afterSaleId);
    if (afterSale.status !== 'PLATFORM_INTERVENING' && afterSale.status !== 'EVIDENCE_SUBMITTED') {
      throw new InvalidStateError(afterSale.status, `An after-sale in ${afterSale.status} cannot be asked for evidence`);
    }
    const dueAt = now + settings.evidenceWindowMs;
    const round = tx
      .insert(evidenceRequests)
      .values({
        afterSaleId: afterSale.id,
        merchantId: afterSale.merchantId,
        instructions,
        requestedBy: actor.id ?? 'platform',
        requestedAt: now,
        dueAt,
        status: 'OPEN',
      })
      .returning()
      .get();
    setAfterSaleStatus(tx, afterSale.id, 'AWAITING_MERCHANT_EVIDENCE');
    appendLog(tx, changes, {
      afterSaleId: afterSale.id,
      at: now,
      actor,
      action: 'EVIDENCE_REQUESTED',
      summary: `Platform asked the merchant for evidence, due ${iso(dueAt)}`,
    });
    createMessage(tx, changes, {
      merchantId: afterSale.merchantId,
      afterSaleId: afterSale.id,
      kind: 'EVIDENCE_REQUESTED',
      title: '平台请您举证 Evidence requested',
      body: `售后单 ${afterSale.number} 已由平台介入，请于 ${iso(dueAt)} 前提交举证。举证说明：${instructions}`,
      at: now,
    });
    changes.roundsChanged = true;
    // A window no longer than the lead is "due soon" from its first instant.
    if (settings.evidenceWindowMs <= settings.reminderLeadMs) {
      tx.update(evidenceRequests).set({ remindedAt: now }).where(eq(evidenceRequests.id, round.id)).run();
      sendReminder(tx, changes, round, afterSale, now);
      return { round: { ...round, remindedAt: now }, changes };
    }
    return { round, changes };
  });
}

function closeRound(tx: Db, round: EvidenceRequestRow, status: 'CANCELLED' | 'SUBMITTED' | 'EXPIRED', now: number): boolean {
  return (
    tx
      .update(evidenceRequests)
      .set({ status, closedAt: now })
      .where(and(eq(evidenceRequests.id, round.id), eq(evidenceRequests.status, 'OPEN')))
      .run().changes === 1
  );
}

function openRoundOf(tx: Db, afterSaleId: number): EvidenceRequestRow | undefined {
  return tx
    .select()
    .from(evidenceRequests)
    .where(and(eq(evidenceRequests.afterSaleId, afterSaleId), eq(evidenceRequests.status, 'OPEN')))
    .get();
}

function cancelRound(tx: Db, changes: Changes, round: EvidenceRequestRow, actor: Actor, now: number, why: string): void {
  closeRound(tx, round, 'CANCELLED', now);
  appendLog(tx, changes, { afterSaleId: round.afterSaleId, at: now, actor, action: 'EVIDENCE_REQUEST_CANCELLED', summary: why });
  changes.roundsChanged = true;
}

/** The platform withdraws an open round; the after-sale goes back to PLATFORM_INTERVENING. */
export function cancelEvidenceRequest(db: Db, requestId: number, actor: Actor, now: number) {
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const round = tx.select().from(evidenceRequests).where(eq(evidenceRequests.id, requestId)).get();
    if (!round) throw new NotFoundError('evidence request');
    const afterSale = loadAfterSale(tx, round.afterSaleId);
    if (round.status !== 'OPEN') {
      throw new InvalidStateError(afterSale.status, `This evidence request is ${round.status} and cannot be cancelled`);
    }
    cancelRound(tx, changes, round, actor, now, 'Platform cancelled the evidence request');
    setAfterSaleStatus(tx, afterSale.id, 'PLATFORM_INTERVENING');
    return { round: { ...round, status: 'CANCELLED' as const, closedAt: now }, changes };
  });
}

function resolve(
  tx: Db,
  changes: Changes,
  afterSale: AfterSaleRow,
  decision: { outcome: Outcome; decidedBy: 'PLATFORM' | 'SYSTEM_TIMEOUT'; opinion: string | null },
  actor: Actor,
  now: number,
): void {
  tx.update(afterSales)
    .set({ status: 'RESOLVED', outcome: decision.outcome, decidedBy: decision.decidedBy, decidedAt: now, opinion: decision.opinion })
    .where(eq(afterSales.id, afterSale.id))
    .run();
  const forWhom = decision.outcome === 'BUYER_FAVORED' ? 'the buyer' : 'the merchant';
  const how = decision.decidedBy === 'SYSTEM_TIMEOUT' ? 'no evidence arrived in time' : 'platform ruling';
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor,
    action: 'ARBITRATION_RESOLVED',
    summary: `Resolved in favour of ${forWhom} (${how})${decision.opinion ? `: ${decision.opinion}` : ''}`,
  });
}

/** The platform rules. An open round is cancelled first; a resolved after-sale takes no further step. */
export function resolveArbitration(
  db: Db,
  input: { afterSaleId: number; outcome: Outcome; opinion?: string | null },
  actor: Actor,
  now: number,
) {
  const opinion = optionalText(input.opinion, 'opinion', 2000);
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const afterSale = loadAfterSale(tx, input.afterSaleId);
    if (afterSale.status === 'RESOLVED') throw new InvalidStateError('RESOLVED', 'This after-sale is already resolved');
    const open = openRoundOf(tx, afterSale.id);
    if (open) cancelRound(tx, changes, open, actor, now, 'Evidence request cancelled: the platform ruled');
    resolve(tx, changes, afterSale, { outcome: input.outcome, decidedBy: 'PLATFORM', opinion }, actor, now);
    const verdict = input.outcome === 'BUYER_FAVORED' ? '支持买家 buyer favoured' : '支持商家 merchant favoured';
    createMessage(tx, changes, {
      merchantId: afterSale.merchantId,
      afterSaleId: afterSale.id,
      kind: 'ARBITRATION_RESOLVED',
      title: '平台已判定 Arbitration resolved',
      body: `售后单 ${afterSale.number} 平台判定：${verdict}。${opinion ?? ''}`.trim(),
      at: now,
    });
    return { afterSale: loadAfterSale(tx, afterSale.id), changes };
  });
}

/** Expires one open, past-due round and decides for the buyer. False if someone else got there first. */
function expireRound(tx: Db, changes: Changes, round: EvidenceRequestRow, now: number): boolean {
  const claimed =
    tx
      .update(evidenceRequests)
      .set({ status: 'EXPIRED', closedAt: now })
      .where(and(eq(evidenceRequests.id, round.id), eq(evidenceRequests.status, 'OPEN'), lte(evidenceRequests.dueAt, now)))
      .run().changes === 1;
  if (!claimed) return false;
  const afterSale = loadAfterSale(tx, round.afterSaleId);
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor: SYSTEM,
    action: 'EVIDENCE_EXPIRED',
    summary: `No evidence arrived by ${iso(round.dueAt)}`,
  });
  resolve(tx, changes, afterSale, { outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT', opinion: null }, SYSTEM, now);
  createMessage(tx, changes, {
    merchantId: afterSale.merchantId,
    afterSaleId: afterSale.id,
    kind: 'EVIDENCE_EXPIRED',
    title: '举证已超时 Evidence expired',
    body: `售后单 ${afterSale.number} 未在 ${iso(round.dueAt)} 前举证，系统已默认支持买家。`,
    at: now,
  });
  changes.roundsChanged = true;
  return true;
}

/** Expires up to `limit` past-due rounds in one transaction; each claim is a conditional update. */
export function expireDueRequests(db: Db, now: number, limit: number): { count: number; changes: Changes } {
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const due = tx
      .select()
      .from(evidenceRequests)
      .where(and(eq(evidenceRequests.status, 'OPEN'), lte(evidenceRequests.dueAt, now)))
      .orderBy(asc(evidenceRequests.dueAt))
      .limit(limit)
      .all();
    let count = 0;
    for (const round of due) if (expireRound(tx, changes, round, now)) count++;
    return { count, changes };
  });
}

/** Sends up to `limit` due reminders in one transaction; never to a round already past its deadline. */
export function remindDueRequests(db: Db, now: number, leadMs: number, limit: number): { count: number; changes: Changes } {
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const due = tx
      .select()
      .from(evidenceRequests)
      .where(
        and(
          eq(evidenceRequests.status, 'OPEN'),
          isNull(evidenceRequests.remindedAt),
          lt(evidenceRequests.dueAt, now + leadMs),
          gt(evidenceRequests.dueAt, now),
        ),
      )
      .orderBy(asc(evidenceRequests.dueAt))
      .limit(limit)
      .all();
    let count = 0;
    for (const round of due) {
      if (!isReminderDue(round.dueAt, now, leadMs)) continue;
      const claimed =
        tx
          .update(evidenceRequests)
          .set({ remindedAt: now })
          .where(and(eq(evidenceRequests.id, round.id), eq(evidenceRequests.status, 'OPEN'), isNull(evidenceRequests.remindedAt)))
          .run().changes === 1;
      if (!claimed) continue;
      sendReminder(tx, changes, round, loadAfterSale(tx, round.afterSaleId), now);
      count++;
    }
    return { count, changes };
  });
}

/** The next instant at which a reminder or an expiry falls due, or null when no round is open. */
export function nextDeadlineInstant(db: Db, leadMs: number): number | null {
  const expiry = db
    .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})` })
    .from(evidenceRequests)
    .where(eq(evidenceRequests.status, 'OPEN'))
    .get()?.at;
  const reminder = db
    .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})` })
    .from(evidenceRequests)
    .where(and(eq(evidenceRequests.status, 'OPEN'), isNull(evidenceRequests.remindedAt)))
    .get()?.at;
  const instants = [expiry, reminder == null ? null : reminder - leadMs + 1].filter((v): v is number => v != null);
  return instants.length ? Math.min(...instants) : null;
}

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

export function requestsByIds(db: Db, ids: readonly number[]): EvidenceRequestRow[] {
  return db.select().from(evidenceRequests).where(inArray(evidenceRequests.id, [...ids])).all();
}

export function requestsByAfterSaleIds(db: Db, ids: readonly number[]): EvidenceRequestRow[] {
  return db
    .select()
    .from(evidenceRequests)
    .where(inArray(evidenceRequests.afterSaleId, [...ids]))
    .orderBy(asc(evidenceRequests.afterSaleId), asc(evidenceRequests.id))
    .all();
}

export function submissionsByIds(db: Db, ids: readonly number[]): EvidenceSubmissionRow[] {
  return db.select().from(evidenceSubmissions).where(inArray(evidenceSubmissions.id, [...ids])).all();
}

export function submissionsByRequestIds(db: Db, ids: readonly number[]): EvidenceSubmissionRow[] {
  return db.select().from(evidenceSubmissions).where(inArray(evidenceSubmissions.requestId, [...ids])).all();
}

export function filesByIds(db: Db, ids: readonly number[]): EvidenceFileRow[] {
  return db.select().from(evidenceFiles).where(inArray(evidenceFiles.id, [...ids])).all();
}

export function filesBySubmissionIds(db: Db, ids: readonly number[]): EvidenceFileRow[] {
  return db
    .select()
    .from(evidenceFiles)
    .where(inArray(evidenceFiles.submissionId, [...ids]))
    .orderBy(asc(evidenceFiles.submissionId), asc(evidenceFiles.position))
    .all();
}

/** Every content hash the database refers to: what the file store must keep. */
export function referencedHashes(db: Db): Set<string> {
  return new Set(db.selectDistinct({ sha256: evidenceFiles.sha256 }).from(evidenceFiles).all().map((r) => r.sha256));
}
