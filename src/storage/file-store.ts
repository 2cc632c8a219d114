import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UploadLimits } from '../config.ts';
import { FileRejectedError, InvalidInputError } from '../db/errors.ts';
import { sanitizeFileName, sniff, SNIFF_BYTES } from './sniff.ts';

export interface ReceivedFile {
  fileName: string;
  contentType: string;
  byteSize: number;
  sha256: string;
  tempPath: string;
}

/** The parser (busboy) cut the file at its size cap, while we read it or before we asked for it. */
export function cutAtSizeLimit(fileName: string): FileRejectedError {
  return new FileRejectedError(fileName, 'TOO_LARGE', `${fileName} is over the size limit for its type`);
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Temporary folders of the stores open in this process (tests run several). */
const openTempDirs = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Evidence files on disk. Uploads stream into `tmp/<pid>-<id>/` while they are
 * hashed, sniffed and counted; accepted ones move to `files/<aa>/<sha256>`
 * (content-addressed, so a path never comes from the client).
 */
export class FileStore {
  /** This store's own temporary folder: another process on the same DATA_DIR has its own. */
  readonly tmpDir: string;
  readonly filesDir: string;
  private readonly tmpRoot: string;

  /** `filesDir` (FILES_DIR) may be shared by several instances; the temporary folder is this one's own DATA_DIR. */
  constructor(
    dataDir: string,
    filesDir = path.join(dataDir, 'files'),
    /** Told of every chunk of an upload as it streams in (the bytes-received counter). */
    private readonly onBytes: (bytes: number) => void = () => {},
  ) {
    this.tmpRoot = path.join(dataDir, 'tmp');
    this.tmpDir = path.join(this.tmpRoot, `${process.pid}-${randomUUID().slice(0, 8)}`);
    this.filesDir = filesDir;
    fs.mkdirSync(this.tmpDir, { recursive: true });
    fs.mkdirSync(this.filesDir, { recursive: true });
    openTempDirs.add(this.tmpDir);
  }

  /**
   * Removes what dead processes left in the temporary folder: nothing there was
   * ever acknowledged. A folder whose process still runs is another server on
   * this DATA_DIR, mid-upload, and stays. (Processes must share a PID namespace.)
   */
  cleanTemp(): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.tmpRoot)) {
      const entry = path.join(this.tmpRoot, name);
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      const alive = openTempDirs.has(entry) || (pid !== process.pid && Number.isSafeInteger(pid) && isRunning(pid));
      if (alive) continue;
      fs.rmSync(entry, { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  /** Gives up this store's temporary folder once no upload can be running. */
  close(): void {
    openTempDirs.delete(this.tmpDir);
    fs.rmSync(this.tmpDir, { force: true, recursive: true });
  }

  /**
   * Removes stored files that no row refers to, left by a crash between the
   * move and the commit. Only old ones: another instance sharing the folder may
   * be between those two steps right now, and `place` makes the file new
   * again (even one that was there already) before that instance commits.
   */
  removeOrphans(referenced: Set<string>, clock: { now(): number }, olderThanMs = 3_600_000): number {
    let removed = 0;
    const cutoff = clock.now() - olderThanMs;
    for (const dir of fs.readdirSync(this.filesDir)) {
      // Only the two-hex-digit folders of the files themselves: previews/ keeps its own.
      if (!/^[0-9a-f]{2}$/.test(dir)) continue;
      for (const name of fs.readdirSync(path.join(this.filesDir, dir))) {
        const file = path.join(this.filesDir, dir, name);
        if (referenced.has(name) || name.endsWith('.part')) continue;
        if (fs.statSync(file).mtimeMs < cutoff) {
          fs.rmSync(file, { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a sha256');
    return path.join(this.filesDir, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams one upload to a temporary file. Refuses, as soon as it can tell,
   * a type we do not take, an empty file, a file over its kind's limit or
   * over what is left of the request's total; the stream is cut at once.
   */
  async receive(
    source: Readable,
    clientName: string | undefined,
    limits: UploadLimits,
    budget: { remaining: number },
  ): Promise<ReceivedFile> {
    const fileName = sanitizeFileName(clientName);
    const tempPath = path.join(this.tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let byteSize = 0;
    let contentType = '';
    const onBytes = this.onBytes;

    async function* check(chunks: AsyncIterable<Buffer>) {
      let head: Buffer[] = [];
      let headBytes = 0;
      let max = 0;
      const accept = (chunk: Buffer) => {
        byteSize += chunk.length;
        onBytes(chunk.length);
        if (byteSize > max) {
          throw new FileRejectedError(fileName, 'TOO_LARGE', `${fileName} is over the ${max} byte limit for its type`);
        }
        if (byteSize > budget.remaining) {
          throw new InvalidInputError('files', `The files are over the ${limits.maxTotalBytes} byte limit for one submission`);
        }
        hash.update(chunk);
        return chunk;
      };
      const decide = async () => {
        const found = await sniff(Buffer.concat(head));
        if (!found) {
          throw new FileRejectedError(fileName, 'UNSUPPORTED_TYPE', `${fileName} is not a JPEG, PNG, WebP, GIF, HEIC, PDF, MP4 or QuickTime file`);
        }
        contentType = found.contentType;
        max = found.kind === 'video' ? limits.maxVideoBytes : limits.maxDocumentBytes;
        const all = Buffer.concat(head);
        head = [];
        return accept(all);
      };
      for await (const chunk of chunks) {
        if (!contentType) {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= SNIFF_BYTES) yield await decide();
          continue;
        }
        yield accept(chunk);
      }
      if (!contentType) {
        if (headBytes === 0) throw new FileRejectedError(fileName, 'EMPTY', `${fileName} is empty`);
        yield await decide();
      }
    }

    // busboy marks a file cut at its own size cap with `truncated`; treat it like our own limit.
    source.once('limit', () =>
      source.destroy(cutAtSizeLimit(fileName)),
    );
    const target = fs.createWriteStream(tempPath, { flags: 'wx' });
    try {
      await pipeline(source, check, target);
      const fd = fs.openSync(tempPath, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      // The file is opened asynchronously: removing it before the stream closes could race its creation.
      if (!target.closed) await new Promise<void>((resolve) => target.once('close', () => resolve()));
      fs.rmSync(tempPath, { force: true });
      // Neither our checks nor the file system (whose errors name a syscall): the upload broke off.
      const fromDisk = typeof (error as NodeJS.ErrnoException).syscall === 'string';
      if (!fromDisk && !(error instanceof FileRejectedError || error instanceof InvalidInputError)) {
        throw new InvalidInputError('files', `The upload of ${fileName} was interrupted before the file ended`);
      }
      throw error;
    }
    budget.remaining -= byteSize;
    return { fileName, contentType, byteSize, sha256: hash.digest('hex'), tempPath };
  }

  /**
   * Moves accepted files into place. Synchronous on purpose: it runs inside
   * the database transaction that records them.
   */
  place(files: ReceivedFile[]): void {
    for (const file of files) {
      const target = this.pathOf(file.sha256);
      const dir = path.dirname(target);
      fs.mkdirSync(dir, { recursive: true });
      if (fs.existsSync(target)) {
        // The same bytes are there: keep them, and mark them new so no orphan sweep takes them now.
        const now = new Date();
        fs.utimesSync(target, now, now);
        fs.rmSync(file.tempPath, { force: true });
        continue;
      }
      try {
        fs.renameSync(file.tempPath, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        // FILES_DIR on another file system (a shared volume): copy beside the target, sync, then rename there.
        const part = `${target}.${randomUUID().slice(0, 8)}.part`;
        fs.copyFileSync(file.tempPath, part);
        syncFile(part);
        fs.renameSync(part, target);
        fs.rmSync(file.tempPath, { force: true });
      }
      // The rename itself is durable once its folder is synced: before the row that refers to it commits.
      syncFile(dir);
    }
  }

  /** Removes a stored file's bytes (no row refers to them any more). */
  remove(sha256: string): void {
    fs.rmSync(this.pathOf(sha256), { force: true });
  }

  discard(files: ReceivedFile[]): void {
    for (const file of files) fs.rmSync(file.tempPath, { force: true });
  }
}
