import fs from 'node:fs';
import path from 'node:path';

/**
 * The bytes of unfinished resumable uploads: `DATA_DIR/uploads/<id>.part`,
 * one file per upload row. An id is ours (hex), never the client's path.
 */
export class UploadParts {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'uploads');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  pathOf(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error('not an upload id');
    return path.join(this.dir, `${id}.part`);
  }

  remove(id: string): void {
    fs.rmSync(this.pathOf(id), { force: true });
  }

  /** Removes parts of no upload the database knows (dropped while this process was down, or never recorded). */
  removeOrphans(known: Set<string>): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.dir)) {
      const id = /^([0-9a-f]{32})\.part$/.exec(name)?.[1];
      if (id && known.has(id)) continue;
      fs.rmSync(path.join(this.dir, name), { force: true, recursive: true });
      removed++;
    }
    return removed;
  }
}
