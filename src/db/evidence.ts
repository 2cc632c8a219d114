import { and, asc, eq } from 'drizzle-orm';
import type { Db } from './client.ts';
import { writeTransaction } from './client.ts';
import { noChanges, type Changes } from './changes.ts';
import { InvalidStateError, NotFoundError } from './errors.ts';
import { appendLog, type Actor } from './logs.ts';
import { createMessage } from './messages.ts';
import { inIds, jsonIds, prepared } from './prepared.ts';
import { closeRound, iso, loadAfterSale, resolveAfterSale, sendReminder, setAfterSaleStatus, type DeadlineSettings } from './rounds.ts';
import {
  evidenceFiles,
  evidenceRequests,
  evidenceSubmissions,
  type EvidenceFileRow,
  type EvidenceRequestRow,
  type EvidenceSubmissionRow,
  type Outcome,
} from './schema.ts';
import { cleanText, optionalText } from './text.ts';

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
    resolveAfterSale(tx, changes, afterSale, { outcome: input.outcome, decidedBy: 'PLATFORM', opinion }, actor, now);
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

export function requestsByIds(db: Db, ids: readonly number[]): EvidenceRequestRow[] {
  const select = prepared(db, 'evidence.requestsByIds', () => db.select().from(evidenceRequests).where(inIds(evidenceRequests.id, 'ids')).prepare());
  return select.all({ ids: jsonIds(ids) });
}

export function requestsByAfterSaleIds(db: Db, ids: readonly number[]): EvidenceRequestRow[] {
  const select = prepared(db, 'evidence.requestsByAfterSaleIds', () =>
    db
      .select()
      .from(evidenceRequests)
      .where(inIds(evidenceRequests.afterSaleId, 'ids'))
      .orderBy(asc(evidenceRequests.afterSaleId), asc(evidenceRequests.id))
      .prepare(),
  );
  return select.all({ ids: jsonIds(ids) });
}

export function submissionsByIds(db: Db, ids: readonly number[]): EvidenceSubmissionRow[] {
  const select = prepared(db, 'evidence.submissionsByIds', () => db.select().from(evidenceSubmissions).where(inIds(evidenceSubmissions.id, 'ids')).prepare());
  return select.all({ ids: jsonIds(ids) });
}

export function submissionsByRequestIds(db: Db, ids: readonly number[]): EvidenceSubmissionRow[] {
  const select = prepared(db, 'evidence.submissionsByRequestIds', () =>
    db.select().from(evidenceSubmissions).where(inIds(evidenceSubmissions.requestId, 'ids')).prepare(),
  );
  return select.all({ ids: jsonIds(ids) });
}

export function filesByIds(db: Db, ids: readonly number[]): EvidenceFileRow[] {
  const select = prepared(db, 'evidence.filesByIds', () => db.select().from(evidenceFiles).where(inIds(evidenceFiles.id, 'ids')).prepare());
  return select.all({ ids: jsonIds(ids) });
}

export function filesBySubmissionIds(db: Db, ids: readonly number[]): EvidenceFileRow[] {
  const select = prepared(db, 'evidence.filesBySubmissionIds', () =>
    db
      .select()
      .from(evidenceFiles)
      .where(inIds(evidenceFiles.submissionId, 'ids'))
      .orderBy(asc(evidenceFiles.submissionId), asc(evidenceFiles.position))
      .prepare(),
  );
  return select.all({ ids: jsonIds(ids) });
}

/** Every content hash the database refers to: what the file store must keep. */
export function referencedHashes(db: Db): Set<string> {
  return new Set(db.selectDistinct({ sha256: evidenceFiles.sha256 }).from(evidenceFiles).all().map((r) => r.sha256));
}
