import { asc } from 'drizzle-orm';
import type { Db } from './database.ts';
import type { EvidenceFileRow, EvidenceRequestRow, EvidenceSubmissionRow } from './schema.ts';

// Reads of rounds, submissions and files (the loaders' batches); the steps that change them are in src/cases/.

export async function requestsByIds(db: Db, ids: readonly number[]): Promise<EvidenceRequestRow[]> {
  const { evidenceRequests } = db.t;
  return db.prepared('evidence.requestsByIds', () => db.q.select().from(evidenceRequests).where(db.inIds(evidenceRequests.id, 'ids'))).execute({ ids: db.ids(ids) });
}

export async function requestsByAfterSaleIds(db: Db, ids: readonly number[]): Promise<EvidenceRequestRow[]> {
  const { evidenceRequests } = db.t;
  const select = db.prepared('evidence.requestsByAfterSaleIds', () =>
    db.q
      .select()
      .from(evidenceRequests)
      .where(db.inIds(evidenceRequests.afterSaleId, 'ids'))
      .orderBy(asc(evidenceRequests.afterSaleId), asc(evidenceRequests.id)),
  );
  return select.execute({ ids: db.ids(ids) });
}

export async function submissionsByIds(db: Db, ids: readonly number[]): Promise<EvidenceSubmissionRow[]> {
  const { evidenceSubmissions } = db.t;
  return db
    .prepared('evidence.submissionsByIds', () => db.q.select().from(evidenceSubmissions).where(db.inIds(evidenceSubmissions.id, 'ids')))
    .execute({ ids: db.ids(ids) });
}

export async function submissionsByRequestIds(db: Db, ids: readonly number[]): Promise<EvidenceSubmissionRow[]> {
  const { evidenceSubmissions } = db.t;
  return db
    .prepared('evidence.submissionsByRequestIds', () => db.q.select().from(evidenceSubmissions).where(db.inIds(evidenceSubmissions.requestId, 'ids')))
    .execute({ ids: db.ids(ids) });
}

export async function filesByIds(db: Db, ids: readonly number[]): Promise<EvidenceFileRow[]> {
  const { evidenceFiles } = db.t;
  return db.prepared('evidence.filesByIds', () => db.q.select().from(evidenceFiles).where(db.inIds(evidenceFiles.id, 'ids'))).execute({ ids: db.ids(ids) });
}

export async function filesBySubmissionIds(db: Db, ids: readonly number[]): Promise<EvidenceFileRow[]> {
  const { evidenceFiles } = db.t;
  const select = db.prepared('evidence.filesBySubmissionIds', () =>
    db.q
      .select()
      .from(evidenceFiles)
      .where(db.inIds(evidenceFiles.submissionId, 'ids'))
      .orderBy(asc(evidenceFiles.submissionId), asc(evidenceFiles.position)),
  );
  return select.execute({ ids: db.ids(ids) });
}

/** Every content hash the database refers to: what the file store must keep. */
export async function referencedHashes(db: Db): Promise<Set<string>> {
  const { evidenceFiles } = db.t;
  const rows = await db.q.selectDistinct({ sha256: evidenceFiles.sha256 }).from(evidenceFiles);
  return new Set(rows.map((r) => r.sha256));
}
