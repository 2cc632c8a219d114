import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { FakeClock, fixture, gql, openCase, startServer, submitEvidence, tempDir } from './helpers.ts';
import { databaseEnv, stored } from './stored.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const TABLES = ['after_sales', 'evidence_requests', 'evidence_submissions', 'evidence_files', 'after_sale_logs', 'messages'];

function snapshot(dataDir: string): Promise<Record<string, unknown[]>> {
  return stored(dataDir, async (db) => {
    const tables: Record<string, unknown[]> = {};
    for (const t of TABLES) tables[t] = await db.all(`SELECT * FROM ${t} ORDER BY id`);
    return tables;
  });
}

describe('start-up warm-up', () => {
  it('reads a workbench page before listening and writes nothing', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const clock = new FakeClock();
    const first = await startServer({}, { dataDir, clock });
    const merchant = await first.merchantToken('shop-w');
    const { requestId } = await openCase(first, 'shop-w');
    await openCase(first, 'shop-w');
    const sent = await submitEvidence(first, merchant, { evidenceRequestId: requestId!, explanation: 'Parcel left intact' }, [
      { content: fixture('parcel-photo.jpg'), name: 'parcel.jpg', type: 'image/jpeg' },
    ]);
    expect(sent.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
    await first.stop();
    const before = await snapshot(dataDir);

    const statements: string[] = [];
    const config = loadConfig({ SEED: 'none', AUTH_SECRET: 'test-secret-0123456789abcdef', ...(await databaseEnv(dataDir)), DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    const app = await createApp(config, { clock, onStatement: (sql) => statements.push(sql) });
    statements.length = 0; // what ran when the database opened (migrations) is not the start's
    let listeningAt = -1;
    app.server.once('listening', () => (listeningAt = statements.length));
    const url = await app.start();
    try {
      // The page's log lines were read before the server took connections: only the warm-up reads those at start.
      const beforeListening = statements.slice(0, listeningAt);
      expect(beforeListening.some((sql) => / as wanted/i.test(sql) && /after_sale_logs/.test(sql))).toBe(true);
      expect(beforeListening.filter((sql) => /^\s*(insert|update|delete)/i.test(sql))).toEqual([]);
      const page = await gql(url, merchant, `{ awaitingEvidence { totalCount } }`);
      expect(page.data.awaitingEvidence.totalCount).toBe(1);
    } finally {
      await app.stop();
    }
    expect(await snapshot(dataDir)).toEqual(before);
  });
});
