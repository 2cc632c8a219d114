import { createPubSub } from 'graphql-yoga';
import type { Changes } from './db/changes.ts';
import type { AfterSaleLogRow, MessageRow } from './db/schema.ts';

/**
 * The typed topics, and the only place that publishes. In one process this is
 * yoga's in-memory pub/sub; several processes would pass an event target
 * backed by Redis to createPubSub without touching the callers.
 */
export type Topics = {
  /** A new message in one shop's message box, keyed by merchant id. */
  message: [merchantId: string, payload: MessageRow];
  /** A new log line of one after-sale, keyed by after-sale id. */
  log: [afterSaleId: number, payload: AfterSaleLogRow];
  /** A round opened, closed or was reminded: the deadline scheduler re-arms its timer. */
  roundsChanged: [];
};

export type Events = ReturnType<typeof createEvents>;

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
  const publish = (changes: Changes) => {
    for (const log of changes.logs) pubsub.publish('log', log.afterSaleId, log);
    for (const message of changes.messages) pubsub.publish('message', message.merchantId, message);
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
    publishFound(found: Pick<Changes, 'logs' | 'messages'>): void {
      const fresh = (key: string) => !announced.delete(key);
      publish({
        logs: found.logs.filter((log) => fresh(`l${log.id}`)),
        messages: found.messages.filter((message) => fresh(`m${message.id}`)),
        roundsChanged: false,
      });
    },
  };
}
