import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';

/** The one preview width the API hands out; the cache is keyed by width so others can follow. */
export const PREVIEW_WIDTH = 320;

/**
 * The kinds sharp's own prebuilt libvips decodes. HEIC is not among them: its
 * libheif carries only the AV1 (AVIF) decoder, not HEVC, so HEIC photos and
 * videos (no frame grabber without a system ffmpeg) get no preview.
 */
const DECODABLE = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);

export interface PreviewLimits {
  /** Previews made at once in this process; each takes one libvips thread. */
  concurrency: number;
  /** Requests that may wait for a slot before new ones are told to come back later. */
  maxQueued: number;
  /** Larger images (a decompression bomb, say) get no preview instead of the memory it would take. */
  maxInputPixels: number;
  /** libvips gives up on an image after this long. */
  timeoutSeconds: number;
}

const DEFAULT_LIMITS: PreviewLimits = { concurrency: 2, maxQueued: 64, maxInputPixels: 64_000_000, timeoutSeconds: 10 };

/** Too many previews are being made; the client may retry shortly. */
export class PreviewsBusyError extends Error {}

// One libvips thread per image (the concurrency bound above decides how many
// run) and no operation cache: each preview is made once, then read from disk.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Small WebP previews of evidence images, made on first request (not at
 * acceptance, so a submission never waits for image work and a preview nobody
 * opens is never made) and kept in
 * `previews/<aa>/<sha256>-w<width>.webp` beside the content-addressed files, so
 * instances sharing the file store share them. A preview is a new image made
 * from the decoded pixels: no EXIF, GPS, XMP or ICC data survives into it, and
 * the original is only read. An image that fails to decode leaves a
 * `.failed` marker, so it is not tried again and its link goes away.
 */
export class Previews {
  private readonly running = new Map<string, Promise<string | null>>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly limits: PreviewLimits;

  constructor(readonly dir: string, limits: Partial<PreviewLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.limit = pLimit(this.limits.concurrency);
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Where the preview of `sha256` at `width` lives (or will), relative to `dir`. */
  relativePathOf(sha256: string, width: number): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a sha256');
    return path.join(sha256.slice(0, 2), `${sha256}-w${width}.webp`);
  }

  /** Whether a file of this kind and hash has, or may yet get, a preview. */
  available(sha256: string, contentType: string, width = PREVIEW_WIDTH): boolean {
    if (!DECODABLE.has(contentType)) return false;
    return !fs.existsSync(this.failedMarker(sha256, width));
  }

  /**
   * The preview's path relative to `dir`, made now if it is not there yet;
   * null when the image cannot be decoded (then never tried again). Concurrent
   * calls for the same file and width share one run.
   */
  async ensure(sourcePath: string, sha256: string, contentType: string, width = PREVIEW_WIDTH): Promise<string | null> {
    if (!this.available(sha256, contentType, width)) return null;
    const relative = this.relativePathOf(sha256, width);
    if (fs.existsSync(path.join(this.dir, relative))) return relative;
    const key = `${sha256}-${width}`;
    const pending = this.running.get(key);
    if (pending) return pending;
    if (this.limit.pendingCount >= this.limits.maxQueued) throw new PreviewsBusyError('Too many previews are being made; try again shortly');
    const run = this.limit(() => this.make(sourcePath, sha256, width)).finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  private failedMarker(sha256: string, width: number): string {
    return path.join(this.dir, `${this.relativePathOf(sha256, width)}.failed`);
  }

  private async make(sourcePath: string, sha256: string, width: number): Promise<string | null> {
    const relative = this.relativePathOf(sha256, width);
    const target = path.join(this.dir, relative);
    if (fs.existsSync(target)) return relative;
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;
    try {
      // First frame only (pages: 1, the default); rotate() applies the EXIF orientation before it is dropped.
      await sharp(sourcePath, { limitInputPixels: this.limits.maxInputPixels, failOn: 'error' })
        .timeout({ seconds: this.limits.timeoutSeconds })
        .rotate()
        .resize({ width, height: width * 4, fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 75 })
        .toFile(temp);
      // A rename is atomic: another instance making the same preview at once only replaces it with equal bytes.
      await fs.promises.rename(temp, target);
      return relative;
    } catch (error) {
      await fs.promises.rm(temp, { force: true });
      // A file-system failure (it names a syscall) may pass; a decoding one will not.
      if (typeof (error as NodeJS.ErrnoException).syscall === 'string') throw error;
      await fs.promises.writeFile(this.failedMarker(sha256, width), '');
      return null;
    }
  }

  /**
   * Removes previews (and markers) of files no row refers to any more, and
   * temporary files a crash left; only old temporary files, since another
   * instance sharing the folder may be writing one now.
   */
  removeOrphans(referenced: Set<string>, olderThanMs = 3_600_000): number {
    let removed = 0;
    const cutoff = Date.now() - olderThanMs;
    for (const dir of fs.readdirSync(this.dir)) {
      for (const name of fs.readdirSync(path.join(this.dir, dir))) {
        const file = path.join(this.dir, dir, name);
        const keep = name.endsWith('.tmp') ? fs.statSync(file).mtimeMs >= cutoff : referenced.has(name.slice(0, 64));
        if (keep) continue;
        fs.rmSync(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
