import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { expireUploads } from '../db/uploads.ts';
import type { UploadParts } from '../storage/upload-parts.ts';

/** Drops unfinished uploads whose time ran out (UPLOAD_EXPIRY, or their round's dueAt), and their bytes. */
export class UploadSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly parts: UploadParts,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  async sweep(): Promise<number> {
    // No bytes, no unfinished upload worth a write transaction (or a statement) every few seconds.
    if (!this.parts.any()) return 0;
    const ids = await expireUploads(this.db, this.clock.now());
    for (const id of ids) this.parts.remove(id);
    return ids.length;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.sweep()).then(
        () => undefined,
        (error) => console.error('upload expiry sweep failed', error),
      );
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
