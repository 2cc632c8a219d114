import { Repeater } from 'graphql-yoga';

/** Rows read per statement while replaying; exported for the test that spans several batches. */
export const REPLAY_BATCH = 200;

/**
 * Rows of one read, shared by every subscriber that asked for the same rows
 * between two wake-ups, with what was worked out once for them all (the
 * unread count, the execution result of a document): the same rows at the
 * same moment give every socket of a shop the same event.
 */
export class SharedRead {
  /** How many subscribers took this read: with one, there is nothing to share. */
  takers = 1;
  private readonly memos = new Map<string, unknown>();
  /** `make()` once per read and key; later callers get the first one's answer. */
  once<T>(key: string, make: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const made = make();
    this.memos.set(key, made);
    return made;
  }
}

/** A row as a feed pushes it, with the read it came from. */
export interface FeedItem<T> {
  row: T;
  read: SharedRead;
}

/** The payload of a subscription event that a feed pushed, if it is one. */
export function feedItemOf(payload: unknown): FeedItem<{ id: number }> | null {
  return payload != null && typeof payload === 'object' && (payload as FeedItem<unknown>).read instanceof SharedRead
    ? (payload as FeedItem<{ id: number }>)
    : null;
}

type Wake = () => void;

/**
 * Hands one row of a feed straight to its client, past the subscription's
 * async iterator: resolves (or returns) true once it is on its way, false
 * when the row must go through the iterator instead (see src/shared-execution.ts).
 */
export type Deliver<T> = (item: FeedItem<T>) => boolean | Promise<boolean>;

/** The direct delivery of a feed's stream, when one was set (`deliverDirectly`). */
const directOf = new WeakMap<object, { deliver?: Deliver<never> }>();

/**
 * From now on the rows of `stream` (a `Feeds.follow` stream) go to `deliver`
 * first, one at a time and in order, and through the iterator only when it
 * declines one. False when `stream` is no feed's.
 */
export function deliverDirectly<T>(stream: unknown, deliver: Deliver<T>): boolean {
  const slot = typeof stream === 'object' && stream !== null ? directOf.get(stream) : undefined;
  if (!slot) return false;
  slot.deliver = deliver as Deliver<never>;
  return true;
}

/** One feed key (a shop, an after-sale) on this instance: its subscribers and the reads since the last wake-up. */
interface Key<T> {
  subscribers: Set<Wake>;
  unlisten: () => void;
  /** Reads started since the last wake-up, by the cursor they read after. */
  reads: Map<number, { rows: Promise<{ rows: T[]; read: SharedRead }>; read: SharedRead }>;
}

export interface FeedSource<K, T> {
  /** Wakes on every new row of one key; one listener per key and instance. */
  listen: (key: K, wake: () => void) => () => void;
  readAfter: (key: K, lastId: number, limit: number) => Promise<T[]>;
  newestId: (key: K) => Promise<number>;
}

/**
 * Live feeds of one kind (every shop's message box, every after-sale's log)
 * on one instance. The database is the feed and a live event only says "look
 * again": each subscriber keeps its own cursor and reads the rows after it,
 * so replay and live are one loop, with no gap and no duplicate between them,
 * and a slow client holds a cursor, not a growing queue.
 *
 * What makes many subscribers of one key cheap: a read started after the
 * latest wake-up of the key answers every subscriber that asks for the rows
 * after the same cursor until the next wake-up. Subscribers at the head of the
 * feed all ask after the head's cursor, so one wake-up costs one read however
 * many of them there are; a subscriber that is replaying or lagging asks after
 * a cursor of its own and reads on its own until it has caught up. Reusing a
 * read is as good as reading: it started after the wake-up that announced the
 * newest commit the subscriber was told of, so it sees that commit, and any
 * commit it may have missed wakes the key again.
 */
export class Feeds<K, T extends { id: number }> {
  private readonly keys = new Map<K, Key<T>>();

  constructor(private readonly source: FeedSource<K, T>) {}

  /** Subscribers of `key` on this instance; for tests and figures. */
  subscribers(key: K): number {
    return this.keys.get(key)?.subscribers.size ?? 0;
  }

  private join(key: K, wake: Wake): () => void {
    let entry = this.keys.get(key);
    if (!entry) {
      const created: Key<T> = { subscribers: new Set(), reads: new Map(), unlisten: () => {} };
      created.unlisten = this.source.listen(key, () => {
        created.reads.clear();
        for (const subscriber of created.subscribers) subscriber();
      });
      this.keys.set(key, created);
      entry = created;
    }
    entry.subscribers.add(wake);
    const joined = entry;
    return () => {
      joined.subscribers.delete(wake);
      if (joined.subscribers.size === 0 && this.keys.get(key) === joined) {
        joined.unlisten();
        this.keys.delete(key);
      }
    };
  }

  private read(key: K, lastId: number): Promise<{ rows: T[]; read: SharedRead }> {
    const entry = this.keys.get(key)!;
    const known = entry.reads.get(lastId);
    // Counted at once, not when the rows come: the first taker resolves its event as soon as they do.
    if (known) {
      known.read.takers++;
      return known.rows;
    }
    const read = new SharedRead();
    const rows = this.source.readAfter(key, lastId, REPLAY_BATCH).then((rows) => ({ rows, read }));
    const started = { rows, read };
    entry.reads.set(lastId, started);
    // A failed read is not kept for the others: the next one to ask reads again.
    rows.catch(() => entry.reads.get(lastId) === started && entry.reads.delete(lastId));
    return rows;
  }

  /**
   * Rows of `key` after `afterId` (without one: those written from now on),
   * oldest first, for as long as the client listens. A Repeater, not an async
   * generator, so that a client's `complete` stops it at once instead of after
   * the next event.
   */
  follow(key: K, afterId: number | null): Repeater<FeedItem<T>> {
    const direct: { deliver?: Deliver<T> } = {};
    const stream = new Repeater<FeedItem<T>>(async (push, stop) => {
      let stopped = false;
      let changed = true;
      let wake = () => {};
      // Listening starts before the first read, so a commit after any read is looked for again.
      const leave = this.join(key, () => {
        changed = true;
        wake();
      });
      void stop.then(() => {
        stopped = true;
        wake();
      });
      try {
        let last = afterId ?? (await this.source.newestId(key));
        while (!stopped) {
          if (!changed) await new Promise<void>((resolve) => (wake = resolve));
          changed = false;
          let batch: T[];
          do {
            const { rows, read } = await this.read(key, last);
            batch = rows;
            for (const row of rows) {
              if (stopped) return;
              last = row.id;
              const item = { row, read };
              const sent = direct.deliver?.(item);
              // The row went out directly (a promise only while the socket is busy); otherwise through the iterator.
              if (sent === true || (sent !== undefined && sent !== false && (await sent))) continue;
              await push(item);
            }
          } while (batch.length === REPLAY_BATCH);
        }
      } catch (error) {
        // A read that fails after the client left (a stopping server, its pool closing) has no one to tell.
        if (!stopped) throw error;
      } finally {
        leave();
      }
    });
    directOf.set(stream, direct);
    return stream;
  }
}

/** One set of feeds per instance (per events object), made when first asked for. */
export function perInstance<I extends object, F>(make: (instance: I) => F): (instance: I) => F {
  const made = new WeakMap<I, F>();
  return (instance) => {
    let feeds = made.get(instance);
    if (!feeds) {
      feeds = make(instance);
      made.set(instance, feeds);
    }
    return feeds;
  };
}
