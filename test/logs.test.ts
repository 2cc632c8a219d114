import { storedExec } from './stored.ts';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, openCase, submitEvidence, tempDir } from './helpers.ts';
import { PROCESS_SECRET, spawnServer, stopProcess, type ServerProcess } from './server-process.ts';
import { connect } from './ws-client.ts';

type Line = Record<string, any> & { level: number; time: number; msg: string };

/** Every stdout line, parsed: each must be one JSON object. */
function lines(server: ServerProcess): Line[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
}

const requestLines = (server: ServerProcess) => lines(server).filter((l) => l.msg === 'request completed');

/** The log stream is written synchronously, but the line lands after the answer's last byte. */
async function lineFor(server: ServerProcess, reqId: string): Promise<Line> {
  for (let i = 0; i < 50; i++) {
    const found = requestLines(server).find((l) => l.reqId === reqId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no request line for ${reqId}:\n${server.stdout()}`);
}

describe('logs of a started server', () => {
  let server: ServerProcess | undefined;
  const dataDir = tempDir();
  afterAll(async () => {
    await stopProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints one JSON line per request with its id, method, path, status and duration, and never a token, secret or link signature', async () => {
    server = await spawnServer(dataDir, { SWEEP_INTERVAL: '200ms' });
    const merchant = await server.merchantToken('shop-logs');
    const platform = await server.platformToken('agent-logs');

    // A client's own sane id comes back and names the request's line.
    const own = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}&marker=QUERYSTRINGMARKER`, {
      headers: { 'x-request-id': 'client-id.1_ok', authorization: `Bearer ${merchant}` },
    });
    expect(own.status).toBe(200);
    expect(own.headers.get('x-request-id')).toBe('client-id.1_ok');
    const ownLine = await lineFor(server, 'client-id.1_ok');
    expect(ownLine).toMatchObject({ level: 30, req: { method: 'GET', path: '/graphql' }, res: { status: 200 } });
    expect(ownLine.durationMs).toBeTypeOf('number');

    // An insane one is replaced by a fresh id.
    const insane = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'not sane; <script>' } });
    const fresh = insane.headers.get('x-request-id')!;
    expect(fresh).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(fresh).not.toContain('script');
    expect(await lineFor(server, fresh)).toMatchObject({ req: { method: 'GET', path: '/healthz' }, res: { status: 200 } });

    // Real work: a round, a submission with a file, the file fetched through its signed link.
    const { requestId } = await openCase(server, 'shop-logs');
    const submitted = await submitEvidence(server, merchant, { evidenceRequestId: requestId!, explanation: 'Shipped intact' }, [
      { content: fixture('parcel-photo.jpg'), name: 'parcel.jpg' },
    ]);
    expect(submitted.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    const fileUrl = new URL(submitted.body.data.submitEvidence.submission.files[0].url);
    const signature = fileUrl.searchParams.get('sig')!;
    const file = await fetch(fileUrl);
    expect(file.status).toBe(200);
    const fileLine = await lineFor(server, file.headers.get('x-request-id')!);
    expect(fileLine.req.path).toBe(fileUrl.pathname);

    // A socket that sends an oversized message is closed with 1009, and that is no "internal error".
    const socket = connect(server.url, merchant);
    await socket.connected();
    socket.subscribe(`{ __typename }${' '.repeat(100 * 1024)}`);
    expect((await socket.closed()).code).toBe(1009);
    await socket.dispose();

    await new Promise((resolve) => setTimeout(resolve, 300));
    const output = server.output();
    for (const secret of [merchant, platform, PROCESS_SECRET, signature, 'QUERYSTRINGMARKER']) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/Internal error emitted/);
    for (const line of requestLines(server)) {
      expect(line.reqId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
      expect(line.req.path).not.toContain('?');
      expect(line.res.status).toBeTypeOf('number');
    }
    // Every line so far parsed as JSON, the start-up line included.
    expect(lines(server).some((l) => l.msg.startsWith('Evidence service on'))).toBe(true);
  });

  it('logs an unexpected error with its stack under the request id, and answers without the stack', async () => {
    const merchant = await server!.merchantToken('shop-logs');
    // The database loses a table under the running server: the next read of it fails unexpectedly.
    await storedExec(dataDir, 'ALTER TABLE messages RENAME TO messages_away');
    try {
      const res = await fetch(`${server!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${merchant}`, 'x-request-id': 'boom-1' },
        body: JSON.stringify({ query: '{ unreadMessageCount }' }),
      });
      const text = await res.text();
      expect(JSON.parse(text).errors[0].message).toBe('Unexpected error.');
      expect(text).not.toMatch(/no such table|does not exist|\.ts:\d+|at /);
    } finally {
      await storedExec(dataDir, 'ALTER TABLE messages_away RENAME TO messages');
    }
    await lineFor(server!, 'boom-1');
    const error = lines(server!).find((l) => l.reqId === 'boom-1' && l.level === 50);
    expect(error, server!.stdout()).toBeDefined();
    expect(error!.err.stack).toMatch(/no such table: messages|Failed query: select count\(\*\) from "messages"/);
    expect(error!.err.stack).toMatch(/\n\s+at /);
    // Once: yoga's own line for the masked error is not written beside it.
    expect(lines(server!).filter((l) => l.level === 50 && /messages/.test(l.err?.stack ?? '')), server!.stdout()).toHaveLength(1);
  });

  it('LOG_LEVEL=warn leaves out the request lines', async () => {
    const quietDir = tempDir();
    const quiet = await spawnServer(quietDir, { LOG_LEVEL: 'warn' });
    try {
      const res = await fetch(`${quiet.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(quiet.stdout()).not.toContain('request completed');
    } finally {
      await stopProcess(quiet);
      fs.rmSync(quietDir, { recursive: true, force: true });
    }
  });
});
