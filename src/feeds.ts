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
  /**
   * `make()` once per read and key; later callers get the first one's answer,
   * and once a promised answer has come, the answer itself (so a caller that
   * comes after it needs not wait a turn).
   */
  once<T>(key: string, make: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const made = make();
    this.memos.set(key, made);
    if (isPromise(made)) made.then((value) => this.memos.get(key) === made && this.memos.set(key, value), () => {});
    return made;
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
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

/**
 * How a subscriber's rows reach its client past the subscription's async
 * iterator (src/shared-execution.ts, src/ws.ts): `resolve` makes the event of
 * a row (the same answer for every subscriber of one read and kind, once made),
 * `send` sends one. `send` answers true once the event is on its way (or needs
 * not go), false when the row must go through the iterator instead (an event
 * with errors, to be masked), and with `wait` a promise while the socket is
 * still writing earlier frames; without `wait` it answers false then.
 */
export interface Direct<T> {
  resolve(item: FeedItem<T>): unknown;
  send(event: unknown, wait: boolean): boolean | Promise<boolean>;
}

/** The direct delivery of a feed's stream, when one was set (`deliverDirectly`). */
const directOf = new WeakMap<object, Follower<never>>();

/**
 * From now on the rows of `stream` (a `Feeds.follow` stream) go through
 * `direct` first, in order, and through the iterator only when it declines
 * one. False when `stream` is no feed's.
 */
export function deliverDirectly<T>(stream: unknown, direct: Direct<T>): boolean {
  const follower = typeof stream === 'object' && stream !== null ? directOf.get(stream) : undefined;
  if (!follower) return false;
  follower.direct = direct as Direct<never>;
  return true;
}

/**
 * One subscriber of a feed key: its cursor and how it is woken. A class, so
 * that `wake` is one function for all (tsx keeps every named arrow's name by
 * redefining it, a property table of ~250 bytes per closure made).
 */
class Follower<T> {
  /** The id of the last row handed to its client: what it reads after. */
  last = 0;
  /** Waiting in its loop for a wake-up, with nothing left to read. */
  idle = false;
  /** Being served by a delivery to many (see `Feeds.deliverToMany`). */
  served = false;
  stopped = false;
  /** Woken since it last looked: there may be rows after its cursor. */
  changed = true;
  direct?: Direct<T>;
  /** Resumes its loop while it waits for a wake-up. */
  resume: () => void = noop;

  /** Has it look again: resumes its own loop, or, while it is being served, once the delivery is done. */
  wake(): void {
    this.changed = true;
    // A wake-up while served is taken up when the delivery to many is done.
    if (this.served) return;
    this.idle = false;
    this.resume();
  }
}

function noop(): void {}

/** One feed key (a shop, an after-sale) on this instance: its subscribers and the reads since the last wake-up. */
interface Key<T> {
  subscribers: Set<Follower<T>>;
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
 *
 * And subscribers at the head whose events go to their sockets directly are
 * not woken one by one: the wake-up reads once for them all, resolves each
 * kind of event once, and sends every socket its frame in one loop
 * (`deliverToMany`). One that cannot take its frame at once (its socket still
 * writing, an event with errors) is woken to go on from its cursor on its own.
 */
export class Feeds<K, T extends { id: number }> {
  private readonly keys = new Map<K, Key<T>>();

  constructor(private readonly source: FeedSource<K, T>) {}

  /** Subscribers of `key` on this instance; for tests and figures. */
  subscribers(key: K): number {
    return this.keys.get(key)?.subscribers.size ?? 0;
  }

  private join(key: K, follower: Follower<T>): () => void {
    let entry = this.keys.get(key);
    if (!entry) {
      const created: Key<T> = { subscribers: new Set(), reads: new Map(), unlisten: () => {} };
      created.unlisten = this.source.listen(key, () => {
        created.reads.clear();
        const many: Follower<T>[] = [];
        for (const subscriber of created.subscribers) {
          if (subscriber.idle && subscriber.direct && !subscriber.served) many.push(subscriber);
          else subscriber.wake();
        }
        if (many.length === 1) many[0]!.wake();
        else if (many.length > 1) void this.deliverToMany(key, many);
      });
      this.keys.set(key, created);
      entry = created;
    }
    entry.subscribers.add(follower);
    const joined = entry;
    return () => {
      joined.subscribers.delete(follower);
      if (joined.subscribers.size === 0 && this.keys.get(key) === joined) {
        joined.unlisten();
        this.keys.delete(key);
      }
    };
  }

  private read(key: K, lastId: number, takers = 1): Promise<{ rows: T[]; read: SharedRead }> {
    const entry = this.keys.get(key)!;
    const known = entry.reads.get(lastId);
    // Counted at once, not when the rows come: the first taker resolves its event as soon as they do.
    if (known) {
      known.read.takers += takers;
      return known.rows;
    }
    const read = new SharedRead();
    read.takers = takers;
    const rows = this.source.readAfter(key, lastId, REPLAY_BATCH).then((rows) => ({ rows, read }));
    const started = { rows, read };
    entry.reads.set(lastId, started);
    // A failed read is not kept for the others: the next one to ask reads again.
    rows.catch(() => entry.reads.get(lastId) === started && entry.reads.delete(lastId));
    return rows;
  }

  /**
   * Serves idle subscribers with direct delivery at one wake-up, together:
   * per cursor one read, per row each one's event (resolved once per kind) and
   * its frame sent in one synchronous loop, the cursor moved past it. Their own
   * loops stay asleep meanwhile; one that cannot take a frame at once, or
   * is woken again while served, is woken to go on from its cursor itself.
   */
  private async deliverToMany(key: K, many: Follower<T>[]): Promise<void> {
    for (const follower of many) {
      follower.served = true;
      follower.idle = false;
    }
    let left: Follower<T>[] = [];
    try {
      const byCursor = new Map<number, Follower<T>[]>();
      for (const follower of many) {
        const same = byCursor.get(follower.last);
        if (same) same.push(follower);
        else byCursor.set(follower.last, [follower]);
      }
      for (let [cursor, group] of byCursor) {
        let full: boolean;
        do {
          const { rows, read } = await this.read(key, cursor, group.length);
          for (const row of rows) {
            const item: FeedItem<T> = { row, read };
            const events = group.map((follower) => (follower.stopped ? undefined : follower.direct!.resolve(item)));
            const pending = [...new Set(events.filter(isPromise))];
            const settled = new Map<unknown, unknown>();
            if (pending.length > 0) (await Promise.all(pending)).forEach((event, i) => settled.set(pending[i], event));
            const taking: Follower<T>[] = [];
            group.forEach((follower, i) => {
              if (follower.stopped) return;
              const event = isPromise(events[i]) ? settled.get(events[i]) : events[i];
              if (follower.direct!.send(event, false) === true) {
                follower.last = row.id;
                taking.push(follower);
              } else left.push(follower);
            });
            group = taking;
          }
          cursor = rows.at(-1)?.id ?? cursor;
          full = rows.length === REPLAY_BATCH;
        } while (full && group.length > 0);
      }
    } catch {
      // A failed read or event: each goes on by itself, and its own loop meets the failure.
      left = many;
    } finally {
      for (const follower of many) {
        follower.served = false;
        follower.idle = true;
      }
    }
    // Those woken while served, and those that went no further, go on by themselves.
    for (const follower of many) if (follower.changed || left.includes(follower)) follower.wake();
  }

  /**
   * Rows of `key` after `afterId` (without one: those written from now on),
   * oldest first, for as long as the client listens. A Repeater, not an async
   * generator, so that a client's `complete` stops it at once instead of after
   * the next event.
   */
  follow(key: K, afterId: number | null): Repeater<FeedItem<T>> {
    const follower = new Follower<T>();
    const stream = new Repeater<FeedItem<T>>(async (push, stop) => {
      // Listening starts before the first read, so a commit after any read is looked for again.
      const leave = this.join(key, follower);
      void stop.then(() => {
        follower.stopped = true;
        follower.resume();
      });
      try {
        follower.last = afterId ?? (await this.source.newestId(key));
        while (!follower.stopped) {
          if (!follower.changed || follower.served) {
            follower.idle = !follower.served;
            await new Promise<void>((resolve) => (follower.resume = resolve));
            if (follower.stopped) break;
            if (follower.served) continue;
          }
          follower.changed = false;
          follower.idle = false;
          let batch: T[];
          do {
            const { rows, read } = await this.read(key, follower.last);
            batch = rows;
            for (const row of rows) {
              if (follower.stopped) return;
              follower.last = row.id;
              const item = { row, read };
              if (follower.direct && (await this.sendDirectly(follower.direct, item))) continue;
              await push(item);
            }
          } while (batch.length === REPLAY_BATCH);
        }
      } catch (error) {
        // A read that fails after the client left (a stopping server, its pool closing) has no one to tell.
        if (!follower.stopped) throw error;
      } finally {
        follower.idle = false;
        leave();
      }
    });
    directOf.set(stream, follower as Follower<never>);
    return stream;
  }

  /** One subscriber's row sent directly; false when it must go through the iterator. */
  private async sendDirectly(direct: Direct<T>, item: FeedItem<T>): Promise<boolean> {
    let event = direct.resolve(item);
    if (isPromise(event)) event = await event;
    return direct.send(event, true);
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
