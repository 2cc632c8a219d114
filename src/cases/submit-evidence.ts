import { createHash } from 'node:crypto';
import type { FileUpload } from 'graphql-upload-minimal';
import type { UploadLimits } from '../config.ts';
import type { Db } from '../db/database.ts';
import { EvidenceRequestClosedError, InvalidInputError } from '../db/errors.ts';
import { commitSubmission, explanationOf, hasIdempotencyKey, openRoundForMerchant } from '../db/submissions.ts';
import type { FileStore } from '../storage/file-store.ts';
import { receiveUploads } from '../storage/receive-uploads.ts';

export interface SubmitEvidenceRequest {
  merchantId: string;
  staffId: string;
  requestId: number;
  explanation: string;
  /** New files, sent with the submission. */
  files: Promise<FileUpload>[];
  /** Staged files of the round's draft, after `files`; 0 stands for an id that names no file. */
  stagedFileIds: number[];
  idempotencyKey: string | null;
}

/**
 * "Same input" for idempotency: the round, the trimmed explanation, each new file's name and hash
 * in order, and the staged files' ids in order (left out when there are none, so fingerprints
 * stored before drafts existed still match).
 */
export function fingerprintOf(requestId: number, explanation: string, files: { fileName: string; sha256: string }[], stagedFileIds: number[] = []): string {
  const parts: unknown[] = [requestId, explanation, files.map((f) => [f.fileName, f.sha256])];
  if (stagedFileIds.length > 0) parts.push({ staged: stagedFileIds });
  const canonical = JSON.stringify(parts);
  return createHash('sha256').update(canonical).digest('hex');
}

function idempotencyKeyOf(raw: string | null): string | null {
  if (raw == null) return null;
  if (!/^[\x21-\x7E]{1,255}$/.test(raw)) {
    throw new InvalidInputError('idempotencyKey', 'idempotencyKey must be 1 to 255 printable ASCII characters');
  }
  return raw;
}

/**
 * The merchant's answer to a round: checks what it can before reading a byte,
 * streams each file to disk (hashed, sniffed, size-checked), then commits rows
 * and files together. Whatever fails, the temporary files go and nothing stays.
 */
export async function submitEvidence(
  deps: { db: Db; store: FileStore; limits: UploadLimits; clock: { now(): number } },
  req: SubmitEvidenceRequest,
) {
  const { db, store, limits } = deps;
  const explanation = explanationOf(req.explanation, limits);
  const idempotencyKey = idempotencyKeyOf(req.idempotencyKey);
  const count = req.files.length + req.stagedFileIds.length;
  if (count < limits.minFiles || count > limits.maxFiles) {
    throw new InvalidInputError('files', `Attach ${limits.minFiles} to ${limits.maxFiles} files, new and staged together (got ${count})`);
  }
  // A retry of an accepted submission skips the round checks: it gets the first answer even after the round closed.
  const isRetry = idempotencyKey != null && (await hasIdempotencyKey(db, req.merchantId, idempotencyKey));
  if (!isRetry) {
    try {
      await openRoundForMerchant(db, req.merchantId, req.requestId, deps.clock.now());
    } catch (error) {
      // The same key's first attempt may have committed between the two reads: then this is its retry.
      if (!(error instanceof EvidenceRequestClosedError && idempotencyKey != null && (await hasIdempotencyKey(db, req.merchantId, idempotencyKey)))) throw error;
    }
  }

  const received = await receiveUploads(store, req.files, limits);
  try {
    const fingerprint = fingerprintOf(req.requestId, explanation, received, req.stagedFileIds);
    const result = await commitSubmission(
      db,
      {
        merchantId: req.merchantId,
        staffId: req.staffId,
        requestId: req.requestId,
        explanation,
        files: received,
        stagedFileIds: req.stagedFileIds,
        idempotencyKey,
        fingerprint,
        maxTotalBytes: limits.maxTotalBytes,
      },
      deps.clock,
      async () => store.place(received),
    );
    if (result.replayed) store.discard(received);
    return result;
  } catch (error) {
    store.discard(received);
    throw error;
  }
}
