import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer } from './helpers.ts';

/** Every wait in these tests is bounded, so a missing event fails the test instead of hanging it. */
export const WAIT_MS = 5000;

export interface Closed {
  code: number;
  reason: string;
}

/** Rejects after `ms` with `what` in the message; resolves with `promise` otherwise. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Waited ${ms} ms for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One subscription as a client sees it: the results in arrival order, then
 * at most one error or completion.
 */
export class Feed {
  readonly results: ExecutionResult[] = [];
  error: unknown = undefined;
  completed = false;
  private read = 0;
  private wake: (() => void) | null = null;
  readonly unsubscribe: () => void;

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    this.unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (result) => this.push(() => this.results.push(result as ExecutionResult)),
        error: (error) => this.push(() => (this.error = error)),
        complete: () => this.push(() => (this.completed = true)),
      },
    );
  }

  private push(change: () => void): void {
    change();
    this.wake?.();
  }

  private async until(ready: () => boolean, what: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Waited ${ms} ms for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** The next result not yet read; fails if the subscription ends or nothing comes in time. */
  async next(ms = WAIT_MS): Promise<ExecutionResult> {
    await this.until(() => this.results.length > this.read || this.error !== undefined || this.completed, 'the next event', ms);
    if (this.results.length > this.read) return this.results[this.read++]!;
    throw new Error(`The subscription ended instead: ${JSON.stringify(this.error ?? 'complete')}`);
  }

  /** The data of the next result, failing on a result that carries errors. */
  async nextData<T = any>(ms = WAIT_MS): Promise<T> {
    const result = await this.next(ms);
    if (result.errors) throw new Error(`Unexpected errors: ${JSON.stringify(result.errors)}`);
    return result.data as T;
  }

  /** Waits until `count` results have come in all, and marks them read. */
  async received(count: number, ms = WAIT_MS): Promise<ExecutionResult[]> {
    await this.until(() => this.results.length >= count || this.error !== undefined || this.completed, `${count} events`, ms);
    if (this.results.length < count) throw new Error(`The subscription ended after ${this.results.length} events: ${JSON.stringify(this.error ?? 'complete')}`);
    this.read = Math.max(this.read, count);
    return this.results.slice(0, count);
  }

  /** Waits until the subscription ended with an error or completed. */
  async ended(ms = WAIT_MS): Promise<void> {
    await this.until(() => this.error !== undefined || this.completed, 'the subscription to end', ms);
  }

  /** The GraphQL errors the operation was answered with, however the server sent them. */
  async errors(ms = WAIT_MS): Promise<{ message: string; extensions?: Record<string, unknown> }[]> {
    await this.until(() => this.results.length > this.read || this.error !== undefined || this.completed, 'an error', ms);
    if (Array.isArray(this.error)) return this.error;
    const result = this.results[this.read];
    if (result?.errors) {
      this.read++;
      return result.errors as never;
    }
    throw new Error(`Expected GraphQL errors, got ${JSON.stringify(result ?? this.error ?? 'complete')}`);
  }
}

export interface Socket {
  client: Client;
  /** Resolves when the connection is acknowledged; fails if that does not happen in time. */
  connected(ms?: number): Promise<void>;
  /** Resolves with the close code and reason of the first socket; fails if it stays open. */
  closed(ms?: number): Promise<Closed>;
  /** Whether the first socket has closed by now. */
  isClosed(): boolean;
  subscribe(query: string, variables?: Record<string, unknown>): Feed;
  /**
   * Sends a query over this socket and waits for its answer, so the server has
   * read every subscribe message sent before it. What is left of setting up
   * those subscriptions is in-process work without I/O, which finishes before
   * the server handles any request the test sends next.
   */
  roundTrip(): Promise<void>;
  /** Stops reading from the socket, as a slow client does: the server's writes back up. */
  pause(): void;
  resume(): void;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/**
 * A graphql-ws client that connects at once and never retries, so a refused
 * connection shows as one close code. `token: null` sends no authorization.
 */
export function connect(httpUrl: string, token: string | null, connectionParams?: Record<string, unknown>): Socket {
  let onConnected!: () => void;
  let onClosed!: (closed: Closed) => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  let wasClosed = false;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  let raw: WebSocket | undefined;
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        raw = this;
      }
    },
    connectionParams: connectionParams ?? (token === null ? {} : { authorization: `Bearer ${token}` }),
    lazy: false,
    retryAttempts: 0,
    // The close is what the tests look at; the client need not print it.
    onNonLazyError: () => {},
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const e = event as { code?: number; reason?: string };
        wasClosed = true;
        onClosed({ code: e.code ?? 0, reason: String(e.reason ?? '') });
      },
    },
  });
  return {
    client,
    connected: (ms) => within(connected, 'connection_ack', ms),
    closed: (ms) => within(closed, 'the socket to close', ms),
    isClosed: () => wasClosed,
    subscribe: (query, variables) => new Feed(client, query, variables),
    roundTrip: async () => {
      const feed = new Feed(client, '{ __typename }');
      await feed.nextData();
    },
    pause: () => raw!.pause(),
    resume: () => raw!.resume(),
    dispose: async () => {
      await client.dispose();
    },
  };
}

/**
 * One server for a test file, and the sockets its tests open: all closed
 * after the file, whatever the tests did. Read `server` and `platform` inside
 * tests (they are set before the first one runs).
 */
export function socketSuite() {
  let server: TestServer | undefined;
  let platform = '';
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = await startServer();
    platform = await server.platformToken();
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await server?.stop();
  });
  return {
    get server(): TestServer {
      if (!server) throw new Error('the suite server starts in beforeAll');
      return server;
    },
    /** A platform agent's token for `server`. */
    get platform(): string {
      return platform;
    },
    open(token: string | null, connectionParams?: Record<string, unknown>): Socket {
      const socket = connect(this.server.url, token, connectionParams);
      sockets.push(socket);
      return socket;
    },
  };
}
