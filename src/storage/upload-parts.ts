import fs from 'node:fs';
import path from 'node:path';

/**
 * The bytes of unfinished resumable uploads: `FILES_DIR/uploads/<id>.part`, shared by the instances,
 * one file per upload row. An id is ours (hex), never the client's path.
 */
export class UploadParts {
  readonly dir: string;

  constructor(filesDir: string) {
    this.dir = path.join(filesDir, 'uploads');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  pathOf(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error('not an upload id');
    return path.join(this.dir, `${id}.part`);
  }

  /** Whether any upload's bytes are here: without any, there is nothing to expire. */
  any(): boolean {
    return fs.readdirSync(this.dir).some((name) => name.endsWith('.part'));
  }

  remove(id: string): void {
    fs.rmSync(this.pathOf(id), { force: true });
  }

  /**
   * Removes parts of no upload the database knows (dropped while this process was down, or never
   * recorded). Not the newest: another instance on this FILES_DIR writes a part just before its row.
   */
  removeOrphans(known: Set<string>, now = Date.now(), olderThanMs = 60_000): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.dir)) {
      const id = /^([0-9a-f]{32})\.part$/.exec(name)?.[1];
      if (id && known.has(id)) continue;
      if (fs.statSync(path.join(this.dir, name)).mtimeMs > now - olderThanMs) continue;
      fs.rmSync(path.join(this.dir, name), { force: true, recursive: true });
      removed++;
    }
    return removed;
  }
}
