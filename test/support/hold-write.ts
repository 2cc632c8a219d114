import { parentPort, workerData } from 'node:worker_threads';
import { eq } from 'drizzle-orm';
import { openDatabase } from '../../src/db/open.ts';
import type { SharedWith } from '../../src/db/database.ts';

// A second thread writing to a server's SQLite file as the backlog thread does (src/jobs/backlog.ts):
// it opens the file with the server's `share`, begins a write, says 'holding', and commits on any message.
const { dataDir, share } = workerData as { dataDir: string; share: SharedWith };
const port = parentPort!;
const db = await openDatabase(null, dataDir, { share });
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
port.once('message', () => release());
await db.write(async (tx) => {
  const { messages } = tx.t;
  await tx.q.update(messages).set({ readAt: 1 }).where(eq(messages.id, -1));
  port.postMessage('holding');
  await released;
});
port.postMessage('committed');
await db.close();
port.close();
