import { createPubSub } from 'graphql-yoga';
import type { Changes } from './db/changes.ts';
import type { LogRef } from './db/logs.ts';
import type { MessageRef } from './db/messages.ts';

/**
 * The typed topics, and the only place that publishes. In one process this is
 * yoga's in-memory pub/sub; several processes would pass an event target
 * backed by Redis to createPubSub without touching the callers. An event says
 * which row is new, not what it holds: the live feeds read the rows from the
 * database after their own cursor, so an event only wakes them, and stays
 * small enough to cross processes cheaply.
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

/** New rows, by reference: what a write produced, or what the relay found. */
type NewRows = { logs: readonly LogRef[]; messages: readonly MessageRef[] };

export function createEvents() {
  const target = new EventTarget();
  const pubsub = createPubSub<Topics>({ eventTarget: target });
  const on = <T>(type: string, listener: (payload: T) => void) => {
    const handler = (event: Event) => listener((event as CustomEvent<T>).detail);
    target.addEventListener(type, handler);
    return () => target.removeEventListener(type, handler);
  };
  // Rows this process announced that the relay has not come across yet.
  const announced = new Set<string>();
  const publish = (changes: NewRows & { roundsChanged: boolean }) => {
    for (const { id, afterSaleId } of changes.logs) pubsub.publish('log', afterSaleId, { id, afterSaleId });
    for (const { id, merchantId } of changes.messages) pubsub.publish('message', merchantId, { id, merchantId });
    if (changes.roundsChanged) pubsub.publish('roundsChanged');
  };
  return {
    /**
     * Calls `listener` on every publish to one keyed topic until the returned
     * function is called. It keeps no queue, unlike pubsub.subscribe: a
     * subscriber whose client stops reading cannot pile events up (past 1,024
     * pending, yoga's repeater throws in the publisher and the process dies).
     */
    listen<K extends 'message' | 'log'>(topic: K, id: Topics[K][0], listener: (payload: Topics[K][1]) => void): () => void {
      return on(`${topic}:${id}`, listener); // createPubSub's key for a topic with an id
    },
    onRoundsChanged(listener: () => void): () => void {
      return on('roundsChanged', listener);
    },
    /** Announces what a committed write of this process produced; call only after the commit. */
    publishChanges(changes: Changes): void {
      for (const log of changes.logs) announced.add(`l${log.id}`);
      for (const message of changes.messages) announced.add(`m${message.id}`);
      publish(changes);
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
        roundsChanged: false,
      });
    },
  };
}
