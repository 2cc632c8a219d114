import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { pool } from './common.ts';

/** The merchant's message box as a client subscribes to it; `after` set before every message replays them first. */
export const MESSAGE_BOX = `subscription Box($after: String) {
  messageBox(after: $after) { cursor unreadCount message { id kind title body createdAt afterSale { id } } }
}`;

export const BEFORE_ANY_MESSAGE = Buffer.from('msg:0').toString('base64url');

export interface BoxEvent {
  receivedAt: number;
  cursor: string;
  unreadCount: number;
  message: { id: string; kind: string; title: string; body: string; createdAt: string; afterSale: { id: string } };
}

export interface Box {
  client: Client;
  /** Resolves once the first event (the replay of the seeded message) arrived: the subscription is live. */
  ready: Promise<void>;
}

/**
 * Opens one graphql-ws socket per token (at most `concurrency` connecting at
 * once) and subscribes each to its message box; resolves when every one is live.
 */
export async function openBoxes(wsUrl: string, tokens: string[], onEvent: (index: number, event: BoxEvent) => void, concurrency = 200): Promise<Box[]> {
  return pool(tokens, concurrency, async (token, index) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    let live!: () => void;
    let failed!: (e: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => ((live = resolve), (failed = reject)));
    client.subscribe<{ messageBox: Omit<BoxEvent, 'receivedAt'> }>(
      { query: MESSAGE_BOX, variables: { after: BEFORE_ANY_MESSAGE } },
      {
        next: (result) => {
          const receivedAt = Date.now();
          if (result.errors || !result.data) return failed(new Error(JSON.stringify(result.errors)));
          live();
          onEvent(index, { receivedAt, ...result.data.messageBox });
        },
        error: (e) => failed(e instanceof Error ? e : new Error(JSON.stringify(e))),
        complete: () => {},
      },
    );
    await ready;
    return { client, ready };
  });
}

export async function closeBoxes(boxes: Box[]): Promise<void> {
  await Promise.all(boxes.map((b) => b.client.dispose()));
}
