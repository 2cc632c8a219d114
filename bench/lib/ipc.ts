import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The child's side of the bench's IPC: answers the parent's requests, dies with the parent. */
export type Handlers = Record<string, (arg: any) => unknown>;

export function serveRequests(handlers: Handlers): void {
  process.on('message', async (msg: { id: number; type: string; arg?: unknown }) => {
    try {
      const handler = handlers[msg.type];
      if (!handler) throw new Error(`no handler for ${msg.type}`);
      const result = await handler(msg.arg);
      process.send!({ id: msg.id, ok: true, result });
    } catch (error) {
      process.send!({ id: msg.id, ok: false, error: String((error as Error)?.stack ?? error) });
    }
  });
  // A child never outlives the bench that started it.
  process.on('disconnect', () => process.exit(0));
}

export function announce(type: string, data: Record<string, unknown> = {}): void {
  process.send!({ event: type, ...data });
}

/** Memory after a full collection (the child runs with --expose-gc), so figures count what is kept, not garbage. */
export function memory(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

/**
 * Runs a raw baseline's HTTP server: listens on loopback, announces its URL
 * as `ready`, and closes every connection and exits when the bench asks.
 */
export function serveBaseline(server: Server): void {
  serveRequests({
    memory,
    stop: () => {
      server.close();
      server.closeAllConnections();
      setImmediate(() => process.exit(0));
    },
  });
  server.listen(0, '127.0.0.1', () => announce('ready', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
}
