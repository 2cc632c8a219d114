import type { Db } from '../db/client.ts';
import { allLogsAfter, newestLogIdOfAll } from '../db/logs.ts';
import { allMessagesAfter, newestMessageIdOfAll } from '../db/messages.ts';
import type { Events } from '../events.ts';

const BATCH = 1000;

/**
 * Live pushes across processes that share one database: every tick it reads
 * the messages and log lines written since the last tick (by any process) and
 * announces those another process wrote, so a socket held by this process
 * hears of them within one interval. Start it before anything here writes,
 * so it comes across every row this process announces itself. (The live
 * feeds read the database after their own cursor, so even a row heard of
 * twice is sent once.) A pub/sub shared between the processes (Redis) would
 * replace this without touching the feeds.
 */
export class CrossProcessRelay {
  private timer: NodeJS.Timeout | undefined;
  private lastMessage = 0;
  private lastLog = 0;

  constructor(
    private readonly db: Db,
    private readonly events: Events,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.lastMessage = newestMessageIdOfAll(this.db);
    this.lastLog = newestLogIdOfAll(this.db);
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One look at what was written since the last one; returns how many rows it announced. */
  tick(): number {
    let announced = 0;
    for (;;) {
      const messages = allMessagesAfter(this.db, this.lastMessage, BATCH);
      const logs = allLogsAfter(this.db, this.lastLog, BATCH);
      if (messages.length === 0 && logs.length === 0) return announced;
      this.lastMessage = messages.at(-1)?.id ?? this.lastMessage;
      this.lastLog = logs.at(-1)?.id ?? this.lastLog;
      this.events.publishFound({ messages, logs });
      announced += messages.length + logs.length;
      if (messages.length < BATCH && logs.length < BATCH) return announced;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
