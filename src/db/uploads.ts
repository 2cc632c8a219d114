import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import { DraftFullError, NotFoundError, OverTotalError } from './errors.ts';
import { lockOpenRound, stageInTransaction, stagedUsage, type DraftLimits } from './drafts.ts';
import type { EvidenceFileRow, UploadRow } from './schema.ts';
import type { StoredFile } from './submissions.ts';

// Resumable uploads into a round's draft. An unfinished upload reserves its
// place: the draft's files and the unfinished uploads together stay within
// MAX_FILES and the total limit, so uploads running side by side cannot
// overfill the draft when they finish.

export interface NewUpload {
  id: string;
  merchantId: string;
  requestId: number;
  fileName: string;
  length: number;
}

/** Opens an upload on the merchant's OPEN round, if the draft has room for it. */
export async function createUpload(db: Db, input: NewUpload, limits: DraftLimits, clock: { now(): number }, expiryMs: number): Promise<UploadRow> {
  return db.write(async (tx) => {
    const { uploads } = tx.t;
    const now = clock.now();
    const round = await lockOpenRound(tx, input.merchantId, input.requestId, now);
    const staged = await stagedUsage(tx, round.id);
    const [pending] = await tx.q
      .select({ count: sql<number>`count(*)`.mapWith(Number), bytes: sql<number>`coalesce(sum(${uploads.length}), 0)`.mapWith(Number) })
      .from(uploads)
      .where(and(eq(uploads.requestId, round.id), sql`${uploads.expiresAt} > ${now}`));
    if (staged.count + pending!.count + 1 > limits.maxFiles) throw new DraftFullError(limits.maxFiles);
    if (staged.bytes + pending!.bytes + input.length > limits.maxTotalBytes) throw new OverTotalError(limits.maxTotalBytes);
    const [row] = await tx.q
      .insert(uploads)
      .values({ ...input, offset: 0, contentType: null, createdAt: now, expiresAt: Math.min(now + expiryMs, round.dueAt) })
      .returning();
    return row!;
  });
}

/** The merchant's own unfinished upload; another shop's, an expired or an unknown one is undefined. */
export async function findUpload(db: Db, id: string, merchantId: string, now: number): Promise<UploadRow | undefined> {
  const { uploads } = db.t;
  const select = db.prepared('uploads.find', () =>
    db.q.select().from(uploads).where(and(eq(uploads.id, sql.placeholder('id')), eq(uploads.merchantId, sql.placeholder('merchantId')))),
  );
  const [row] = await select.execute({ id, merchantId });
  return row && row.expiresAt > now ? row : undefined;
}

/** Records bytes synced to the upload's file; false if the offset moved meanwhile (or the upload went). */
export async function advanceUpload(db: Db, id: string, from: number, to: number, contentType: string | null): Promise<boolean> {
  const { uploads } = db.t;
  const moved = await db.q
    .update(uploads)
    .set({ offset: to, contentType })
    .where(and(eq(uploads.id, id), eq(uploads.offset, from)))
    .returning({ id: uploads.id });
  return moved.length === 1;
}

/**
 * The upload's last bytes arrived: the upload goes and its file is staged in
 * the round's draft, in one transaction. NotFoundError if the upload went
 * meanwhile (its round closed, it expired, another request finished it).
 */
export async function completeUpload(
  db: Db,
  upload: UploadRow,
  file: StoredFile,
  limits: DraftLimits,
  clock: { now(): number },
  placeFile: () => Promise<void>,
): Promise<EvidenceFileRow> {
  return db.write(async (tx) => {
    const { uploads } = tx.t;
    const now = clock.now();
    const round = await lockOpenRound(tx, upload.merchantId, upload.requestId, now);
    const claimed = await tx.q
      .delete(uploads)
      .where(and(eq(uploads.id, upload.id), eq(uploads.offset, upload.offset)))
      .returning({ id: uploads.id });
    if (claimed.length !== 1) throw new NotFoundError('upload');
    const { files } = await stageInTransaction(tx, round, [file], limits, now, placeFile);
    return files[0]!;
  });
}

/** Drops an upload (terminated, refused); true if it was there. */
export async function dropUpload(db: Db, id: string): Promise<boolean> {
  const { uploads } = db.t;
  const dropped = await db.write((tx) => tx.q.delete(uploads).where(eq(uploads.id, id)).returning({ id: uploads.id }));
  return dropped.length === 1;
}

/** Drops the uploads whose time ran out; their ids, so their bytes can go. */
export async function expireUploads(db: Db, now: number): Promise<string[]> {
  const { uploads } = db.t;
  const dropped = await db.write((tx) => tx.q.delete(uploads).where(lte(uploads.expiresAt, now)).returning({ id: uploads.id }));
  return dropped.map((u) => u.id);
}

/** Every upload the database knows, so that bytes of no upload can go at start. */
export async function uploadIds(db: Db): Promise<Set<string>> {
  const { uploads } = db.t;
  return new Set((await db.q.select({ id: uploads.id }).from(uploads)).map((u) => u.id));
}
