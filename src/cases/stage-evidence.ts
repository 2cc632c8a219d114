import type { FileUpload } from 'graphql-upload-minimal';
import type { UploadLimits } from '../config.ts';
import type { Db } from '../db/database.ts';
import { stageFiles } from '../db/drafts.ts';
import { InvalidInputError } from '../db/errors.ts';
import { openRoundForMerchant } from '../db/submissions.ts';
import type { FileStore } from '../storage/file-store.ts';
import { receiveUploads } from '../storage/receive-uploads.ts';

/**
 * Stages files in a round's draft, by the rules a submission's files obey:
 * the round is checked before a byte is read, each file is streamed to disk
 * (sniffed, hashed, held to its kind's limit), and the batch is staged whole
 * or not at all.
 */
export async function stageEvidenceFiles(
  deps: { db: Db; store: FileStore; limits: UploadLimits; clock: { now(): number } },
  req: { merchantId: string; requestId: number; files: Promise<FileUpload>[] },
) {
  const { db, store, limits } = deps;
  if (req.files.length < 1 || req.files.length > limits.maxFiles) {
    throw new InvalidInputError('files', `Stage 1 to ${limits.maxFiles} files at a time (got ${req.files.length})`);
  }
  await openRoundForMerchant(db, req.merchantId, req.requestId, deps.clock.now());
  const received = await receiveUploads(store, req.files, limits);
  try {
    return await stageFiles(db, { merchantId: req.merchantId, requestId: req.requestId, files: received }, limits, deps.clock, async () => store.place(received));
  } catch (error) {
    store.discard(received);
    throw error;
  }
}
