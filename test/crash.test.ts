import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { onPostgres, sqliteIntegrity, stored } from './stored.ts';
import { fixture, openCase, storedFiles, submitEvidence, tempDir, SUBMIT } from './helpers.ts';
import { multipartBody, streamUpload, submitFields } from './multipart.ts';
import { freshConnectionError, spawnServer, stopProcess, type ServerProcess } from './server-process.ts';

const MiB = 1024 * 1024;
const video = fs.readFileSync(fixture('unboxing.mp4'));
/** A real MP4 head padded with zeros: sniffed as video, as long as a slow upload needs. */
const videoOf = (bytes: number) => Buffer.concat([video, Buffer.alloc(bytes - video.length)]);

let running: ServerProcess[] = [];
const dirs: string[] = [];
async function spawn(dataDir: string, env: Record<string, string> = {}) {
  const server = await spawnServer(dataDir, env);
  running.push(server);
  return server;
}
function dataDir() {
  const dir = tempDir('evidence-crash-');
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(running.map(stopProcess));
  running = [];
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const tempFiles = (dir: string) => storedFiles(dir).filter((f) => f.startsWith(path.join(dir, 'tmp')));

/** A submitEvidence body with one large video, for streaming slowly. */
async function slowUpload(server: ServerProcess, requestId: string, bytes: number) {
  const token = await server.merchantToken('shop-a');
  const { contentType, body } = multipartBody([
    ...submitFields(SUBMIT, { evidenceRequestId: requestId, explanation: 'Unboxing video' }, 1),
    { name: '1', filename: 'unboxing.mp4', type: 'video/mp4', data: videoOf(bytes) },
  ]);
  return streamUpload(server.url, { 'apollo-require-preflight': 'true', authorization: `Bearer ${token}`, 'content-type': contentType }, body, {
    chunk: 128 * 1024,
    everyMs: 10,
  });
}

const ROUND = `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status submission { id files { sha256 url } } } } }`;

describe('kill -9', () => {
  it('during an upload loses nothing acknowledged and leaves no partial submission or temporary file', async () => {
    const dir = dataDir();
    const first = await spawn(dir);
    const merchant = await first.merchantToken('shop-a');
    const done = await openCase(first, 'shop-a');
    const acknowledged = await submitEvidence(first, merchant, { evidenceRequestId: done.requestId!, explanation: 'Photo and video' }, [
      { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' },
      { content: fixture('unboxing.mp4'), name: 'unboxing.mp4' },
    ]);
    expect(acknowledged.body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');

    const pending = await openCase(first, 'shop-a');
    const upload = await slowUpload(first, pending.requestId!, 32 * MiB);
    // Mid-upload: part of the video is on disk in the temporary folder.
    await vi.waitFor(() => expect(tempFiles(dir).length).toBe(1), { timeout: 10_000 });
    await first.crash();
    await expect(upload.answer).rejects.toThrow();
    expect(tempFiles(dir).length).toBe(1);

    const second = await spawn(dir);
    expect(tempFiles(dir)).toEqual([]);
    const lost = await second.gql(merchant, ROUND, { id: pending.requestId });
    expect(lost.data!.node).toEqual({ status: 'OPEN', submission: null });
    const kept = await second.gql(merchant, ROUND, { id: done.requestId });
    expect(kept.data!.node.status).toBe('SUBMITTED');
    const files = kept.data!.node.submission.files as { sha256: string; url: string }[];
    expect(files.map((f) => f.sha256)).toEqual(acknowledged.body.data!.submitEvidence.submission.files.map((f: { sha256: string }) => f.sha256));
    for (const [file, name] of [[files[0]!, 'parcel-photo.jpg'], [files[1]!, 'unboxing.mp4']] as const) {
      const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer());
      expect(bytes.equals(fs.readFileSync(fixture(name)))).toBe(true);
    }
    await stored(dir, async (db) => {
      expect(await db.count('SELECT count(*) AS n FROM evidence_submissions')).toBe(1);
      expect(await db.count('SELECT count(*) AS n FROM evidence_files')).toBe(2);
    });
    if (!onPostgres) expect(sqliteIntegrity(dir)).toBe('ok');
  });

  it('during the deadline sweeps: after the restart every round is reminded at most once and expired exactly once', async () => {
    const dir = dataDir();
    const env = { EVIDENCE_WINDOW: '1s', REMINDER_LEAD: '500ms', SWEEP_INTERVAL: '200ms' };
    const first = await spawn(dir, env);
    const expiredSoFar = () => stored(dir, (db) => db.count(`SELECT count(*) AS n FROM evidence_requests WHERE status = 'EXPIRED'`));

    // Rounds keep opening while earlier ones come due, so the sweeps run over and over; kill at the first expiry.
    let crashed = false;
    const opening = (async () => {
      while (!crashed) await Promise.all(Array.from({ length: 8 }, () => openCase(first, 'shop-a').catch(() => undefined)));
    })();
    await vi.waitFor(async () => expect(await expiredSoFar()).toBeGreaterThan(0), { timeout: 15_000, interval: 10 });
    crashed = true;
    await first.crash();
    await opening;

    await spawn(dir, env);
    const open = () => stored(dir, (db) => db.count(`SELECT count(*) AS n FROM evidence_requests WHERE status = 'OPEN'`));
    await vi.waitFor(async () => expect(await open()).toBe(0), { timeout: 15_000, interval: 50 });

    const perAfterSale = await stored(dir, (db) =>
      db.all<{ status: string; decidedBy: string; expiredLogs: number; resolvedLogs: number; expiredMessages: number; reminderLogs: number; reminderMessages: number }>(
          `SELECT a.id, a.status, a.decided_by AS "decidedBy",
             (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_EXPIRED') AS "expiredLogs",
             (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'ARBITRATION_RESOLVED') AS "resolvedLogs",
             (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_EXPIRED') AS "expiredMessages",
             (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_REMINDER_SENT') AS "reminderLogs",
             (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_DUE_SOON') AS "reminderMessages"
           FROM after_sales a JOIN evidence_requests r ON r.after_sale_id = a.id`,
      ),
    );
    expect(perAfterSale.length).toBeGreaterThan(0);
    for (const row of perAfterSale) {
      expect(row).toMatchObject({ status: 'RESOLVED', decidedBy: 'SYSTEM_TIMEOUT', expiredLogs: 1, resolvedLogs: 1, expiredMessages: 1 });
      expect(row.reminderLogs).toBeLessThanOrEqual(1);
      expect(row.reminderMessages).toBe(row.reminderLogs);
    }
    if (!onPostgres) expect(sqliteIntegrity(dir)).toBe('ok');
  });
});

describe('SIGTERM', () => {
  it('lets an upload in flight finish and be stored, refuses new connections, and exits 0', async () => {
    const dir = dataDir();
    const server = await spawn(dir);
    const { requestId } = await openCase(server, 'shop-a');
    const upload = await slowUpload(server, requestId!, 4 * MiB);
    await vi.waitFor(() => expect(tempFiles(dir).length).toBe(1), { timeout: 10_000 });
    server.child.kill('SIGTERM');
    await vi.waitFor(() => expect(server.output()).toContain('SIGTERM'));
    expect(await freshConnectionError(server.url)).toMatchObject({ code: 'ECONNREFUSED' });

    const answer = await upload.answer;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await stored(dir, async (db) => {
      expect(await db.get(`SELECT status FROM evidence_requests`)).toEqual({ status: 'SUBMITTED' });
      expect(await db.get(`SELECT byte_size AS size FROM evidence_files`)).toEqual({ size: 4 * MiB });
    });
  });

  it('gives up on a stalled upload after the grace period, stores nothing of it, and exits 0', async () => {
    const dir = dataDir();
    const server = await spawn(dir, { SHUTDOWN_GRACE: '1s' });
    const { requestId } = await openCase(server, 'shop-a');
    const upload = await slowUpload(server, requestId!, 4 * MiB);
    await vi.waitFor(() => expect(tempFiles(dir).length).toBe(1), { timeout: 10_000 });
    upload.stall();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await expect(upload.answer).rejects.toThrow();
    await stored(dir, async (db) => {
      expect(await db.get(`SELECT status FROM evidence_requests`)).toEqual({ status: 'OPEN' });
      expect(await db.count(`SELECT count(*) AS n FROM evidence_submissions`)).toBe(0);
    });
  });
});
