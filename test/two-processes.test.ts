import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { onPostgres, sqliteIntegrity, stored } from './stored.ts';
import { fixture, openCase, storedFiles, submitEvidence, tempDir, SUBMIT } from './helpers.ts';
import { multipartBody, streamUpload, submitFields } from './multipart.ts';
import { spawnServer, stopProcess, type ServerProcess } from './server-process.ts';

let running: ServerProcess[] = [];
let dir: string;
afterEach(async () => {
  await Promise.all(running.map(stopProcess));
  running = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

async function both(env: Record<string, string> = {}): Promise<[ServerProcess, ServerProcess]> {
  dir = tempDir('evidence-two-');
  // Started together on an empty folder: both open and migrate the same new database at once.
  const pair = await Promise.all([spawnServer(dir, env), spawnServer(dir, env)]);
  running.push(...pair);
  return pair;
}

describe('two server processes on one DATA_DIR', () => {
  it('serve concurrent writes from both without any client seeing SQLITE_BUSY', async () => {
    const servers = await both();
    const merchant = await servers[0].merchantToken('shop-a');
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const server = servers[i % 2]!;
        const other = servers[(i + 1) % 2]!;
        const { requestId } = await openCase(server, 'shop-a');
        // Submitted through the other process, so each round crosses between them.
        const { status, body } = await submitEvidence(other, merchant, { evidenceRequestId: requestId!, explanation: `Submission ${i}` }, [
          { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' },
        ]);
        const read = await server.gql(merchant, '{ unreadMessageCount awaitingEvidence { totalCount } }');
        return { status, body, read };
      }),
    );
    for (const { status, body, read } of outcomes) {
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
      expect(read.errors).toBeUndefined();
    }
    for (const server of servers) expect(server.output()).not.toMatch(/SQLITE_BUSY|database is locked/i);
    expect(await stored(dir, (db) => db.count(`SELECT count(*) AS n FROM evidence_submissions`))).toBe(24);
    if (!onPostgres) expect(sqliteIntegrity(dir)).toBe('ok');
  });

  it('remind and expire each due round exactly once between them', async () => {
    const servers = await both({ EVIDENCE_WINDOW: '2s', REMINDER_LEAD: '1s', SWEEP_INTERVAL: '100ms' });
    await Promise.all(Array.from({ length: 30 }, (_, i) => openCase(servers[i % 2]!, 'shop-a')));
    const open = () => stored(dir, (db) => db.count(`SELECT count(*) AS n FROM evidence_requests WHERE status = 'OPEN'`));
    await vi.waitFor(async () => expect(await open()).toBe(0), { timeout: 15_000, interval: 100 });

    const counts = await stored(dir, (db) =>
      db.all<{ reminders: number; dueSoon: number; expiries: number; expiredMessages: number }>(
          `SELECT a.id,
             (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_REMINDER_SENT') AS "reminders",
             (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_DUE_SOON') AS "dueSoon",
             (SELECT count(*) FROM after_sale_logs l WHERE l.after_sale_id = a.id AND l.action = 'EVIDENCE_EXPIRED') AS "expiries",
             (SELECT count(*) FROM messages m WHERE m.after_sale_id = a.id AND m.kind = 'EVIDENCE_EXPIRED') AS "expiredMessages"
           FROM after_sales a`,
      ),
    );
    expect(counts).toHaveLength(30);
    for (const row of counts) {
      expect(row.reminders).toBeLessThanOrEqual(1);
      expect(row.dueSoon).toBe(row.reminders);
      expect(row.expiries).toBe(1);
      expect(row.expiredMessages).toBe(1);
    }
    // The reminders did go out (each round had a second of lead), just never twice.
    expect(counts.reduce((n, row) => n + row.reminders, 0)).toBeGreaterThan(0);
  });

  it('a process starting beside another does not disturb that one\'s upload in flight', async () => {
    const [first] = await both();
    const merchant = await first.merchantToken('shop-a');
    const { requestId } = await openCase(first, 'shop-a');
    const { contentType, body } = multipartBody([
      ...submitFields(SUBMIT, { evidenceRequestId: requestId, explanation: 'Long video' }, 1),
      { name: '1', filename: 'unboxing.mp4', data: Buffer.concat([fs.readFileSync(fixture('unboxing.mp4')), Buffer.alloc(4 * 1024 * 1024)]) },
    ]);
    const upload = streamUpload(first.url, { 'apollo-require-preflight': 'true', authorization: `Bearer ${merchant}`, 'content-type': contentType }, body, {
      chunk: 128 * 1024,
      everyMs: 10,
    });
    const tmp = path.join(dir, 'tmp');
    await vi.waitFor(() => expect(storedFiles(dir).some((f) => f.startsWith(tmp))).toBe(true), { timeout: 10_000 });
    upload.stall();
    // A third process starts (as after a deploy or a crash of its own) and cleans up at start.
    running.push(await spawnServer(dir));
    expect(storedFiles(dir).some((f) => f.startsWith(tmp))).toBe(true);
    upload.resume();
    const answer = await upload.answer;
    expect(JSON.parse(answer.body).data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
  });
});
