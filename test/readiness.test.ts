import fs from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createMessage } from '../src/db/messages.ts';
import { openCase, startServer, tempDir, type TestServer } from './helpers.ts';
import { freshConnectionError, spawnServer, stopProcess, type ServerProcess } from './server-process.ts';
import { stored } from './stored.ts';
import { connect } from './ws-client.ts';

/** A raw connection to the server, so the test decides when each byte of a request goes out. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    /**
     * Connected, and accepted by the server: one whole request has been answered on it (kept alive). A connection the
     * kernel has completed but the server not yet accepted is reset when the server stops listening.
     */
    accepted: opened.then(async () => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await vi.waitFor(() => expect(received).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n[^]+/), { timeout: 5000 });
      received = '';
    }),
    send: (text: string) => new Promise<void>((resolve) => socket.write(text, () => resolve())),
    /** The whole answer, once the server has closed the connection (it does while stopping). */
    answer: async () => {
      await ended;
      return received;
    },
  };
}

describe('/readyz', () => {
  let server: ServerProcess | undefined;
  const dataDir = tempDir();
  afterAll(async () => {
    await stopProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 as soon as a SIGTERM arrives, while a request in flight finishes with 200 and the process exits 0', async () => {
    server = await spawnServer(dataDir, { SHUTDOWN_GRACE: '10s' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    // A request in flight: its body is still coming when the stop begins.
    const body = JSON.stringify({ query: '{ __typename }' });
    const inFlight = rawConnection(server.url);
    await inFlight.accepted;
    await inFlight.send(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    // A load balancer's probe on a connection it already holds, begun before the stop.
    const probe = rawConnection(server.url);
    await probe.accepted;
    await probe.send('GET /readyz HTTP/1.1\r\n');

    server.child.kill('SIGTERM');
    await vi.waitFor(() => expect(server!.output()).toContain('SIGTERM: finishing in-flight requests'), { timeout: 5000 });

    await probe.send('Host: x\r\n\r\n');
    const probed = await probe.answer();
    expect(probed).toMatch(/^HTTP\/1\.1 503 /);
    expect(probed).toContain('"status":"not ready"');

    // New connections are refused.
    expect(await freshConnectionError(server.url)).toMatchObject({ code: 'ECONNREFUSED' });

    await inFlight.send(body.slice(5));
    const answered = await inFlight.answer();
    expect(answered).toMatch(/^HTTP\/1\.1 200 /);
    expect(answered).toContain('{"data":{"__typename":"Query"}}');

    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('answers 503 while the database cannot be reached, and /healthz stays the liveness check', async () => {
    const local = await startServer({ LOG_LEVEL: 'fatal' });
    try {
      expect((await fetch(`${local.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${local.url}/healthz`)).status).toBe(200);
      // The database goes away under the server: its connections are closed (SQLite's file handles, PostgreSQL's pool).
      await local.app.services.db.close();
      const res = await fetch(`${local.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'not ready' });
    } finally {
      await local.stop();
    }
  });
});

const REQUEST_EVIDENCE = `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) { __typename
  ... on RequestEvidencePayload { evidenceRequest { id afterSale { status logs(first: 10) { edges { node { action } } } } } } } }`;

/** Sends the whole request over a connection of its own, and leaves once the server has read it (its work is under way). */
async function sendAndLeaveOverHttp(server: TestServer, body: string): Promise<void> {
  const read = new Promise((resolve) => server.app.server.once('request', (req: http.IncomingMessage) => req.once('end', resolve)));
  const { hostname, port } = new URL(server.url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await server.platformToken()}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await read;
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
}

/** The same over a graphql-ws socket: once a query sent after it is answered, the server has begun the mutation. */
async function sendAndLeaveOverWebSocket(server: TestServer, body: string): Promise<void> {
  const socket = connect(server.url, await server.platformToken());
  await socket.connected();
  const { query, variables } = JSON.parse(body);
  socket.subscribe(query, variables);
  await socket.roundTrip();
  await socket.dispose();
}

describe('stopping', () => {
  it.each([
    ['HTTP', sendAndLeaveOverHttp],
    ['a WebSocket', sendAndLeaveOverWebSocket],
  ])('lets a mutation over %s whose client has gone run to its end before the database closes', async (_, sendAndLeave) => {
    const lines: { level: number; msg: string }[] = [];
    const server = await startServer({}, { log: pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) });
    try {
      const { afterSaleId } = await openCase(server, 'shop-gone', { request: false });
      const id = Number(decodeGlobalID(afterSaleId).id);
      // Another write holds the shop's message box (on SQLite, the one writer): the mutation's write waits behind it.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let taken!: () => void;
      const held = new Promise<void>((resolve) => (taken = resolve));
      const holding = server.app.services.db.write(async (tx) => {
        await createMessage(tx, { merchantId: 'shop-gone', afterSaleId: id, kind: 'EVIDENCE_DUE_SOON', title: 'held', body: 'held', at: Date.now() });
        taken();
        await gate;
      });
      await held;

      // Its answer would read the round's after-sale and log after the write; the client leaves before it.
      await sendAndLeave(server, JSON.stringify({ query: REQUEST_EVIDENCE, variables: { input: { afterSaleId, instructions: 'Photos of the parcel before it left, please' } } }));

      let stopped = false;
      const stopping = server.app.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // No connection is left, but the mutation's work is: the stop waits for it.
      expect(stopped).toBe(false);
      release();
      await holding;
      await stopping;

      // The write committed whole, and the answer's reads ran on an open database: nothing failed.
      expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
      const rounds = await stored(server.dataDir, (db) => db.count('SELECT count(*) AS n FROM evidence_requests WHERE after_sale_id = ?', id));
      expect(rounds).toBe(1);
      const actions = await stored(server.dataDir, (db) => db.all<{ action: string }>('SELECT action FROM after_sale_logs WHERE after_sale_id = ? ORDER BY id', id));
      expect(actions.map((a) => a.action)).toEqual(['APPLIED', 'PLATFORM_INTERVENED', 'EVIDENCE_REQUESTED']);
    } finally {
      await server.stop().catch(() => {});
    }
  });
});
