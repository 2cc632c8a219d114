import { Redis } from 'ioredis';
import type { Events, NewRows, RemoteBus } from './events.ts';

const CHANNEL = 'evidence-service:events';

/** What an instance sends: new rows, or `resync` ("I could not tell you everything: read again"). */
type Envelope = NewRows & { from: string; resync?: boolean };

/**
 * Live pushes across instances through Redis pub/sub. A push only wakes the
 * feeds, which read the database after their own cursor; so what Redis loses
 * (a publish while an instance was cut off from it) costs a delay, never a
 * message: on every reconnect, and every `resyncMs` as a backstop, every
 * feed of this instance reads again. Plain ioredis rather than
 * @graphql-yoga/redis-event-target, which neither waits for Redis to confirm
 * a subscription nor says when it reconnected.
 */
export class RedisBus implements RemoteBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private timer: NodeJS.Timeout | undefined;
  private connectedOnce = false;
  /** A publish failed (Redis was away): once the publisher is back, every instance is told to read again. */
  private missed = false;

  constructor(
    url: string,
    private readonly events: Events,
    private readonly resyncMs: number,
    private readonly log: (message: string) => void = (message) => console.warn(message),
  ) {
    const options = { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 100, 2000) };
    // No offline queue: a publish while Redis is away fails at once instead of piling up in memory;
    // the others read again when they reconnect.
    this.publisher = new Redis(url, { ...options, enableOfflineQueue: false, connectionName: 'evidence-publisher' });
    this.subscriber = new Redis(url, { ...options, connectionName: 'evidence-subscriber' });
    for (const client of [this.publisher, this.subscriber]) client.on('error', (error: Error) => this.log(`Redis: ${error.message}`));
  }

  /** Resolves once Redis has confirmed the subscription: events sent from then on reach this instance. */
  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    this.subscriber.on('ready', () => {
      // ioredis subscribes again by itself after a reconnect; what was sent meanwhile is read again here.
      if (!this.connectedOnce) return;
      // Read again only once the subscription is confirmed, so nothing sent from then on is missed.
      this.subscriber.subscribe(CHANNEL).then(
        () => {
          this.log('Redis: reconnected; every live feed reads again');
          this.events.resync();
        },
        (error: Error) => this.log(`Redis: could not subscribe again: ${error.message}`),
      );
    });
    this.publisher.on('ready', () => {
      if (!this.missed) return;
      this.missed = false;
      this.publisher.publish(CHANNEL, JSON.stringify({ from: this.events.instanceId, logs: [], messages: [], resync: true } satisfies Envelope)).catch(() => {
        this.missed = true;
      });
    });
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(CHANNEL);
    this.connectedOnce = true;
    this.timer = setInterval(() => this.events.resync(), this.resyncMs);
    this.timer.unref();
  }

  /** Whether both connections are up: the readiness check's view of Redis. */
  get healthy(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  send(rows: NewRows): void {
    const envelope: Envelope = { from: this.events.instanceId, ...rows };
    // The commit already happened; a failed publish only delays the others until they read again.
    this.publisher.publish(CHANNEL, JSON.stringify(envelope)).catch((error: Error) => {
      this.missed = true;
      this.log(`Redis publish failed (the others read again once it is back): ${error.message}`);
    });
  }

  private receive(text: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (envelope.from === this.events.instanceId) return;
    if (envelope.resync) return this.events.resync();
    this.events.publishRemote({ logs: envelope.logs ?? [], messages: envelope.messages ?? [], roundsChanged: envelope.roundsChanged });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }
}
