import type { Changes } from '../db/changes.ts';
import type { Db } from '../db/database.ts';
import { unreferencedHashes } from '../db/drafts.ts';
import type { FileStore } from './file-store.ts';
import type { UploadParts } from './upload-parts.ts';

/**
 * After a commit that dropped drafts' files or uploads: removes the uploads'
 * bytes, and each file's bytes that no row refers to any more. Best effort;
 * what a crash leaves here, the clean-up at start removes. The check and the
 * removal run inside a write, so on SQLite no other write can stage the same
 * bytes between them.
 */
export async function removeDiscarded(db: Db, store: FileStore, parts: UploadParts, discarded: Changes['discarded']): Promise<void> {
  for (const id of discarded.uploadIds) parts.remove(id);
  if (discarded.hashes.length === 0) return;
  await db.write(async (tx) => {
    for (const sha256 of await unreferencedHashes(tx, discarded.hashes)) store.remove(sha256);
  });
}
