import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Db } from '../db/database.ts';
import { allLogsAfter, newestLogIdOfAll } from '../db/logs.ts';
import { allMessagesAfter, newestMessageIdOfAll } from '../db/messages.ts';
import type { Events } from '../events.ts';
import type { Logger } from '../logger.ts';

/** Rows read per slice; the relay yields to requests between slices. */
const BATCH = 500;

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
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly events: Events,
    private readonly intervalMs: number,
    private readonly log?: Logger,
  ) {}

  async start(): Promise<void> {
    this.lastMessage = await newestMessageIdOfAll(this.db);
    this.lastLog = await newestLogIdOfAll(this.db);
    this.stopped = false;
    this.timer = setInterval(() => {
      this.tick().catch((error) => this.log?.error({ err: error }, 'relay tick failed; retrying at the next one'));
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * One look at what was written since the last one; resolves to how many rows
   * it read. A backlog (a deadline catch-up writes tens of thousands of rows a
   * second) is read in slices with a turn of the event loop between them, so
   * requests are not held up behind it. Ticks never overlap.
   */
  tick(): Promise<number> {
    this.running ??= this.readAll().finally(() => (this.running = null));
    return this.running;
  }

  private async readAll(): Promise<number> {
    let read = 0;
    while (!this.stopped) {
      this.lastMessage = this.events.pastAnnounced('m', this.lastMessage);
      this.lastLog = this.events.pastAnnounced('l', this.lastLog);
      const messages = await allMessagesAfter(this.db, this.lastMessage, BATCH);
      const logs = await allLogsAfter(this.db, this.lastLog, BATCH);
      if (messages.length === 0 && logs.length === 0) break;
      this.lastMessage = messages.at(-1)?.id ?? this.lastMessage;
      this.lastLog = logs.at(-1)?.id ?? this.lastLog;
      this.events.publishFound({ messages, logs });
      read += messages.length + logs.length;
      if (messages.length < BATCH && logs.length < BATCH) break;
      await nextTurn();
    }
    return read;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
