import { decodeGlobalID } from '@pothos/plugin-relay';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/database.ts';
import { openSqlite } from '../src/db/dialects/sqlite.ts';
import { createMessage } from '../src/db/messages.ts';
import { createEvents } from '../src/events.ts';
import { CrossProcessRelay } from '../src/jobs/relay.ts';
import { openCase, startServer, type TestServer } from './helpers.ts';
import { onPostgres } from './stored.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Writes `n` messages for one shop and after-sale in one commit. */
async function writeMessages(db: Db, merchantId: string, afterSaleId: number, n: number): Promise<void> {
  await db.write(async (tx) => {
    for (let i = 0; i < n; i++) {
      await createMessage(tx, { merchantId, afterSaleId, kind: 'EVIDENCE_DUE_SOON', title: 't', body: `b${i}`, at: Date.now() });
    }
  });
}

/**
 * A server's database with one after-sale of `merchantId`, and a relay on a
 * connection of its own ("this process"), ticking only when the test says.
 * `heard` lists the message ids this process's events announced.
 */
async function relayBeside(merchantId: string) {
  const server: TestServer = await startServer({ RELAY_INTERVAL: '1h' });
  cleanups.push(() => server.stop());
  const { afterSaleId } = await openCase(server, merchantId);
  const events = createEvents({ relayed: true });
  // This process's own writes are announced on commit, as the app's are.
  const here = openSqlite(path.join(server.dataDir, 'evidence.db'), { onCommit: (changes) => events.publishChanges(changes) });
  cleanups.push(() => here.close());
  const heard: number[] = [];
  events.listen('message', merchantId, (ref) => ref && heard.push(ref.id));
  const relay = new CrossProcessRelay(here, events, 3_600_000);
  await relay.start();
  cleanups.push(() => relay.stop());
  return { server, here, events, heard, relay, afterSaleId: Number(decodeGlobalID(afterSaleId).id) };
}

// The relay is how processes sharing one SQLite file hear of each other; PostgreSQL has none.
describe.skipIf(onPostgres)('cross-process relay', () => {
  it('announces a backlog written elsewhere once per row, in slices that let the event loop through', async () => {
    const { server, heard, relay, afterSaleId } = await relayBeside('shop-r');
    const other = openSqlite(path.join(server.dataDir, 'evidence.db')); // another process's connection
    cleanups.push(() => other.close());
    await writeMessages(other, 'shop-r', afterSaleId, 1_234);
    // Counts turns of the event loop while the tick runs.
    let turns = 0;
    let reading = true;
    const turn = () => {
      turns++;
      if (reading) setImmediate(turn);
    };
    setImmediate(turn);
    const read = await relay.tick();
    reading = false;

    expect(read).toBe(1_234);
    expect(heard).toHaveLength(1_234);
    expect(new Set(heard).size).toBe(1_234);
    expect(heard).toEqual([...heard].sort((a, b) => a - b));
    // Three slices of 500 with a turn between each: other work (requests) ran meanwhile.
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(await relay.tick()).toBe(0);
    expect(heard).toHaveLength(1_234);
  });

  it('does not announce again what this process announced itself, and still hears what another wrote between', async () => {
    const { server, here, heard, relay, afterSaleId } = await relayBeside('shop-s');
    const other = openSqlite(path.join(server.dataDir, 'evidence.db'));
    cleanups.push(() => other.close());
    await writeMessages(here, 'shop-s', afterSaleId, 3);
    expect(heard).toHaveLength(3);
    // Its own rows, right after its cursor: passed without reading them.
    expect(await relay.tick()).toBe(0);
    expect(heard).toHaveLength(3);

    await writeMessages(other, 'shop-s', afterSaleId, 2);
    await writeMessages(here, 'shop-s', afterSaleId, 3);
    expect(heard).toHaveLength(6);
    // The other's two come first: all five are read, and only those two announced.
    expect(await relay.tick()).toBe(5);
    expect(heard).toHaveLength(8);
    expect(new Set(heard).size).toBe(8);
    expect(await relay.tick()).toBe(0);
  });
});
