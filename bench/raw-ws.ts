import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { announce, memory, serveRequests } from './lib/ipc.ts';

/**
 * The raw baseline for fan-out: a bare `ws` server that keeps each socket
 * under its shop and, on cue, sends every shop's sockets one payload shaped
 * like the service's message box event: no GraphQL, no database, no auth.
 */
const server = http.createServer();
const wss = new WebSocketServer({ server, path: '/raw' });
const shops = new Map<string, Set<WebSocket>>();

wss.on('connection', (socket) => {
  socket.once('message', (data) => {
    const shop = String(data);
    const set = shops.get(shop) ?? new Set();
    set.add(socket);
    shops.set(shop, set);
    socket.on('close', () => set.delete(socket));
    socket.send('ready');
  });
});

serveRequests({
  memory,
  /** One event per shop, each built at its send time from the template (`%SHOP%`, `%AT%`, `%N%`). */
  burst: ({ template }: { template: string }) => {
    let n = 0;
    for (const [shop, sockets] of shops) {
      const payload = template.replaceAll('%SHOP%', shop).replaceAll('%N%', String(++n)).replaceAll('%AT%', new Date().toISOString());
      for (const socket of sockets) socket.send(payload);
    }
    return n;
  },
  stop: () => {
    for (const socket of wss.clients) socket.terminate();
    server.close();
    setImmediate(() => process.exit(0));
  },
});
server.listen(0, '127.0.0.1', () => announce('ready', { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/raw` }));
