import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import type { Committed } from './db/changes.ts';
import type { LogRef } from './db/logs.ts';
import type { MessageRef } from './db/messages.ts';

/**
 * The typed topics, and the only place that publishes. An event says which
 * row is new, not what it holds: the live feeds read the rows from the
 * database after their own cursor, so an event only wakes them, and stays
 * small enough to cross processes cheaply. Across instances the same events
 * travel through a remote bus (Redis, src/redis-bus.ts); each instance hands
 * what it hears to its own feeds.
 */
export type Topics = {
  /** A new message in one shop's message box, keyed by merchant id. */
  message: [merchantId: string, payload: MessageRef];
  /** A new log line of one after-sale, keyed by after-sale id. */
  log: [afterSaleId: number, payload: LogRef];
  /** A round opened, closed or was reminded: the deadline scheduler re-arms its timer. */
  roundsChanged: [];
};

export type Events = ReturnType<typeof createEvents>;

/** New rows, by reference: what a write produced, or what the relay or the remote bus found. */
export type NewRows = { logs: readonly LogRef[]; messages: readonly MessageRef[]; roundsChanged?: boolean };

/** Where this instance's commits go so that the others hear of them. */
export interface RemoteBus {
  send(rows: NewRows): void;
}

/** Every feed and the scheduler look again (after a reconnect, or as a slow backstop). */
const RESYNC = 'resync';

/**
 * `relayed`: other processes' rows are found by the cross-process relay (one SQLite file, no Redis),
 * which must skip the rows this process announced itself. Without a relay nothing would ever take
 * them out of that set, so they are not kept (a catch-up alone added 150,000).
 */
export function createEvents(options: { relayed: boolean } = { relayed: false }) {
  const target = new EventTarget();
  // One listener per open subscription: thousands on one topic are expected, not a leak.
  setMaxListeners(0, target);
  const pubsub = createPubSub<Topics>({ eventTarget: target });
  const on = <T>(type: string, listener: (payload: T) => void) => {
    const handler = (event: Event) => listener((event as CustomEvent<T>).detail);
    target.addEventListener(type, handler);
    return () => target.removeEventListener(type, handler);
  };
  // Rows this process announced that the relay has not come across yet.
  const announced = new Set<string>();
  let remote: RemoteBus | null = null;
  const publish = (changes: NewRows) => {
    for (const { id, afterSaleId } of changes.logs) pubsub.publish('log', afterSaleId, { id, afterSaleId });
    for (const { id, merchantId } of changes.messages) pubsub.publish('message', merchantId, { id, merchantId });
    if (changes.roundsChanged) pubsub.publish('roundsChanged');
  };
  return {
    /** This instance's id on the remote bus, so it skips its own events coming back. */
    instanceId: randomUUID(),
    /**
     * Calls `listener` on every publish to one keyed topic (and on every
     * resync) until the returned function is called. It keeps no queue,
     * unlike pubsub.subscribe: a subscriber whose client stops reading cannot
     * pile events up (past 1,024 pending, yoga's repeater throws in the
     * publisher and the process dies).
     */
    listen<K extends 'message' | 'log'>(topic: K, id: Topics[K][0], listener: (payload: Topics[K][1] | null) => void): () => void {
      const offTopic = on(`${topic}:${id}`, listener); // createPubSub's key for a topic with an id
      const offResync = on(RESYNC, () => listener(null));
      return () => {
        offTopic();
        offResync();
      };
    },
    onRoundsChanged(listener: () => void): () => void {
      const offChanged = on('roundsChanged', listener);
      const offResync = on(RESYNC, listener);
      return () => {
        offChanged();
        offResync();
      };
    },
    /** Sends this instance's commits to the others as well. */
    connect(bus: RemoteBus): void {
      remote = bus;
    },
    /** Announces what a committed write of this process produced; call only after the commit. */
    publishChanges(changes: Committed): void {
      if (options.relayed) {
        for (const log of changes.logs) announced.add(`l${log.id}`);
        for (const message of changes.messages) announced.add(`m${message.id}`);
      }
      publish(changes);
      if (changes.logs.length || changes.messages.length || changes.roundsChanged) {
        remote?.send({
          logs: changes.logs.map(({ id, afterSaleId }) => ({ id, afterSaleId })),
          messages: changes.messages.map(({ id, merchantId }) => ({ id, merchantId })),
          roundsChanged: changes.roundsChanged,
        });
      }
    },
    /** What another instance committed, heard on the remote bus. */
    publishRemote(rows: NewRows): void {
      publish(rows);
    },
    /** Every feed re-reads after its cursor, and the scheduler re-arms: nothing missed stays missed. */
    resync(): void {
      target.dispatchEvent(new CustomEvent(RESYNC, { detail: null }));
    },
    /**
     * Where the relay's cursor of one table (`l` log lines, `m` messages) can move without reading:
     * past the rows just after it that this process announced itself, which it would read only to
     * skip them (a catch-up writes some 60,000 a second). Ids come in commit order, so a run of them
     * is all this process's own.
     */
    pastAnnounced(kind: 'l' | 'm', last: number): number {
      while (announced.delete(`${kind}${last + 1}`)) last++;
      return last;
    },
    /**
     * Announces rows the cross-process relay found in the database, skipping
     * those this process already announced itself (each is found once).
     */
    publishFound(found: NewRows): void {
      const fresh = (key: string) => !announced.delete(key);
      publish({
        logs: found.logs.filter((log) => fresh(`l${log.id}`)),
        messages: found.messages.filter((message) => fresh(`m${message.id}`)),
      });
    },
  };
}
