import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openCase, startServer, type TestServer } from './helpers.ts';
import { MESSAGE_BOX, type BoxEvent } from './message-box.ts';
import { Feed, within, wsUrl } from './ws-client.ts';

const INTERVAL_MS = 200;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ WS_PING_INTERVAL: `${INTERVAL_MS}ms` });
});
afterAll(() => server.stop());

/** A graphql-ws client on a `ws` socket that counts the pings it gets; `answer: false` never pongs, as a peer gone silent. */
async function openBox(merchantId: string, answer: boolean) {
  let raw!: WebSocket;
  let pings = 0;
  let onClosed!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl(server.url),
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { autoPong: answer });
        raw = this;
        this.on('ping', () => pings++);
        this.on('close', (code) => onClosed(code));
      }
    },
    connectionParams: { authorization: `Bearer ${await server.merchantToken(merchantId)}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
  });
  const box = new Feed(client, MESSAGE_BOX);
  return { client, box, pings: () => pings, isOpen: () => raw.readyState === WebSocket.OPEN, closed };
}

describe('socket keep-alive', () => {
  it('pings a quiet message box every WS_PING_INTERVAL and keeps it open while it answers, live pushes included', async () => {
    const quiet = await openBox('shop-quiet', true);
    try {
      await new Promise((resolve) => setTimeout(resolve, 6 * INTERVAL_MS));
      expect(quiet.pings()).toBeGreaterThanOrEqual(4);
      expect(quiet.isOpen()).toBe(true);

      const { afterSaleId } = await openCase(server, 'shop-quiet');
      expect((await quiet.box.nextData<BoxEvent>()).messageBox.message).toMatchObject({ kind: 'EVIDENCE_REQUESTED', afterSale: { id: afterSaleId } });
    } finally {
      await quiet.client.dispose();
    }
  });

  it('cuts off a socket that stops answering pings, and keeps the shop\'s socket that answers', async () => {
    const gone = await openBox('shop-gone', false);
    const answering = await openBox('shop-gone', true);
    try {
      // The server terminates the socket without a close frame: the client sees 1006.
      expect(await within(gone.closed, 'the silent socket to be cut off', 10 * INTERVAL_MS)).toBe(1006);
      expect(gone.pings()).toBeGreaterThanOrEqual(1);
      // The shop's other socket, which answers, stays and still gets its pushes.
      expect(answering.isOpen()).toBe(true);
      await openCase(server, 'shop-gone');
      expect((await answering.box.nextData<BoxEvent>()).messageBox.message.kind).toBe('EVIDENCE_REQUESTED');
    } finally {
      await Promise.all([gone.client.dispose(), answering.client.dispose()]);
    }
  });
});
