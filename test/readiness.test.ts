import fs from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startServer, tempDir } from './helpers.ts';
import { freshConnectionError, spawnServer, stopProcess, type ServerProcess } from './server-process.ts';

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
