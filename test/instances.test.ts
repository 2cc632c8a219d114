import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture, openCase, submitEvidence, tempDir } from './helpers.ts';
import { MESSAGE_BOX, type BoxEvent } from './message-box.ts';
import { spawnServer, stopProcess, type ServerProcess } from './server-process.ts';
import { databaseUrlFor, onPostgres, stored } from './stored.ts';
import { hasRedis, startRedis, type RedisServer } from './support/redis.ts';
import { connect, type Socket } from './ws-client.ts';

// Several equal instances on one PostgreSQL, one Redis and one FILES_DIR, each with its own DATA_DIR.
const running: ServerProcess[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];
let redis: RedisServer;
beforeAll(async () => {
  if (onPostgres && hasRedis()) redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  await Promise.all(running.splice(0).map(stopProcess));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(() => redis?.stop());

async function instances(n: number, env: Record<string, string> = {}): Promise<ServerProcess[]> {
  const first = tempDir('evidence-instance-');
  const files = tempDir('evidence-files-');
  dirs.push(first, files);
  const shared = { DATABASE_URL: (await databaseUrlFor(first))!, REDIS_URL: redis.url, FILES_DIR: files, ...env };
  const servers = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const dir = i === 0 ? first : tempDir('evidence-instance-');
      if (i > 0) dirs.push(dir);
      return spawnServer(dir, shared);
    }),
  );
  running.push(...servers);
  return servers;
}

function open(server: ServerProcess, token: string): Socket {
  const socket = connect(server.url, token);
  sockets.push(socket);
  return socket;
}

const ids = (events: { data?: unknown }[]) => events.map((e) => (e.data as BoxEvent).messageBox.message.id);

describe.skipIf(!onPostgres || !hasRedis())('instances on PostgreSQL and Redis', () => {
  it('pushes a message committed on one instance to a socket on another', async () => {
    const [a, b] = await instances(2);
    const socket = open(b!, await b!.merchantToken('shop-x'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    await openCase(a!, 'shop-x');
    const event = (await box.nextData<BoxEvent>(2000)).messageBox;
    expect(event.message.kind).toBe('EVIDENCE_REQUESTED');
    expect(event.unreadCount).toBe(1);
  });

  it('brings 200 writes for one shop split over two instances to a socket on each, in one order, with no gap or duplicate, and replays from the middle', async () => {
    const [a, b] = await instances(2);
    const token = await a!.merchantToken('shop-many');
    const sockets = [open(a!, token), open(b!, token)];
    const boxes = sockets.map((s) => s.subscribe(MESSAGE_BOX));
    await Promise.all(sockets.map((s) => s.roundTrip()));
    // Each case is one request on a and one on b: 100 cases, 200 messages (requested, then resolved).
    const platform = await a!.platformToken();
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const { afterSaleId } = await openCase(i % 2 ? a! : b!, 'shop-many');
        const res = await (i % 2 ? b! : a!).gql(platform, `mutation($input: ResolveArbitrationInput!) { resolveArbitration(input: $input) { __typename } }`, {
          input: { afterSaleId, outcome: 'MERCHANT_FAVORED' },
        });
        expect(res.data!.resolveArbitration.__typename).toBe('ResolveArbitrationPayload');
      }),
    );
    const [onA, onB] = await Promise.all(boxes.map((box) => box.received(200, 20_000)));
    const order = ids(onA!);
    expect(new Set(order).size).toBe(200);
    expect(ids(onB!)).toEqual(order);
    const cursors = onA!.map((e) => (e.data as BoxEvent).messageBox.cursor);
    // A client that reconnects to the other instance with a cursor from the middle gets exactly the rest.
    const replay = open(b!, token).subscribe(MESSAGE_BOX, { after: cursors[99] });
    expect(ids(await replay.received(100, 10_000))).toEqual(order.slice(100));
  });

  it('lets a socket closed by a stopping instance reconnect to another and replay what it missed with after:', async () => {
    const [a, b] = await instances(2);
    const token = await a!.merchantToken('shop-moves');
    const first = open(a!, token);
    const box = first.subscribe(MESSAGE_BOX);
    await first.roundTrip();
    await openCase(b!, 'shop-moves');
    const seen = (await box.nextData<BoxEvent>(5_000)).messageBox;
    a!.child.kill('SIGTERM'); // a deploy: the instance stops and closes its sockets with 1001
    expect((await first.closed(15_000)).code).toBe(1001);
    await openCase(b!, 'shop-moves'); // written while the client has no socket
    await openCase(b!, 'shop-moves');
    const again = open(b!, token).subscribe(MESSAGE_BOX, { after: seen.cursor });
    const replayed = await again.received(2, 10_000);
    // Exactly the two it missed, oldest first, as the message box lists them.
    const listed = await b!.gql(token, `{ messages(first: 3) { edges { node { id } } } }`);
    const newestFirst = listed.data!.messages.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids(replayed)).toEqual([newestFirst[1], newestFirst[0]]);
    expect(newestFirst[2]).toBe(seen.message.id);
  });

  it('loses no event while Redis restarts: sockets hear what was written meanwhile once it is back', async () => {
    // No backstop re-read during the test: the reconnect alone must bring the missed message.
    const [a, b] = await instances(2, { RESYNC_INTERVAL: '1h' });
    const socket = open(b!, await b!.merchantToken('shop-outage'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    const port = redis.port;
    await redis.stop();
    await openCase(a!, 'shop-outage'); // committed while no instance can reach Redis
    redis = await startRedis(port);
    const event = (await box.nextData<BoxEvent>(15_000)).messageBox;
    expect(event.message.kind).toBe('EVIDENCE_REQUESTED');
    await openCase(a!, 'shop-outage'); // and live again afterwards, also if a's own publisher is still reconnecting
    expect((await box.nextData<BoxEvent>(15_000)).messageBox.unreadCount).toBe(2);
  });

  it('decides every round once when one instance is killed while they come due: the other takes them', async () => {
    const env = { EVIDENCE_WINDOW: '3s', REMINDER_LEAD: '1s', SWEEP_INTERVAL: '10s' };
    const [a, b] = await instances(2, env);
    for (let i = 0; i < 10; i++) await openCase(i % 2 ? a! : b!, 'shop-dies');
    await a!.crash();
    await vi.waitFor(
      async () => expect(await stored(dirs[0]!, (db) => db.count(`SELECT count(*) AS n FROM evidence_requests WHERE status = 'OPEN'`))).toBe(0),
      { timeout: 10_000, interval: 100 },
    );
    const rows = await stored(dirs[0]!, (db) =>
      db.all<{ expiries: number; messages: number }>(
        `SELECT (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_EXPIRED') AS "expiries",
                (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_EXPIRED') AS "messages"
         FROM after_sales a WHERE a.merchant_id = 'shop-dies'`,
      ),
    );
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row).toEqual({ expiries: 1, messages: 1 });
  });

  it('resumes through one instance a tus upload begun through another, and stages exactly its bytes', async () => {
    const [a, b] = await instances(2);
    const token = await a!.merchantToken('shop-tus');
    const { requestId } = await openCase(a!, 'shop-tus');
    const bytes = fs.readFileSync(fixture('unboxing.mp4'));
    const tus = (base: string, method: string, target: string, headers: Record<string, string> = {}, body?: Buffer) =>
      fetch(new URL(target, base), { method, headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${token}`, ...headers }, body: body ? new Uint8Array(body) : undefined });
    const meta = `evidenceRequestId ${Buffer.from(requestId!).toString('base64')},filename ${Buffer.from('unboxing.mp4').toString('base64')}`;
    const created = await tus(a!.url, 'POST', '/uploads', { 'upload-length': String(bytes.length), 'upload-metadata': meta });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location')!, a!.url).pathname;
    const half = Math.floor(bytes.length / 2);
    const firstHalf = await tus(a!.url, 'PATCH', location, { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, bytes.subarray(0, half));
    expect(firstHalf.status).toBe(204);
    // The phone's network changes and the load balancer sends it to the other instance.
    const head = await tus(b!.url, 'HEAD', location);
    expect(head.headers.get('upload-offset')).toBe(String(half));
    const rest = await tus(b!.url, 'PATCH', location, { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(half) }, bytes.subarray(half));
    expect(rest.status).toBe(204);
    const fileId = rest.headers.get('evidence-file-id')!;
    const staged = await b!.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceFile { sha256 byteSize } } }`, { id: fileId });
    expect(staged.data!.node).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), byteSize: bytes.length });
  });

  it('serves a file uploaded through one instance from any other, out of the shared FILES_DIR', async () => {
    const [a, b] = await instances(2);
    const token = await a!.merchantToken('shop-files');
    const { requestId } = await openCase(a!, 'shop-files');
    const sent = await submitEvidence(a!, token, { evidenceRequestId: requestId!, explanation: 'Photo of the parcel' }, [
      { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' },
    ]);
    expect(sent.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    const seen = await b!.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { submission { files { url } } } } }`, { id: requestId });
    const url = seen.data!.node.submission.files[0].url as string;
    expect(new URL(url).port).toBe(new URL(b!.url).port);
    const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(bytes.equals(fs.readFileSync(fixture('parcel-photo.jpg')))).toBe(true);
    // The bytes are in FILES_DIR, not in either instance's own DATA_DIR.
    expect(fs.existsSync(path.join(a!.dataDir, 'files'))).toBe(false);
    expect(fs.existsSync(path.join(b!.dataDir, 'files'))).toBe(false);
  });
});
