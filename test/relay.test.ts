import { decodeGlobalID } from '@pothos/plugin-relay';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { noChanges } from '../src/db/changes.ts';
import { closeDatabase, openDatabase, writeTransaction, type Db } from '../src/db/client.ts';
import { createMessage } from '../src/db/messages.ts';
import { createEvents } from '../src/events.ts';
import { CrossProcessRelay } from '../src/jobs/relay.ts';
import { openCase, startServer, type TestServer } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Another process's connection to the server's database, writing `n` messages for one shop in one commit. */
function writeElsewhere(db: Db, merchantId: string, afterSaleId: number, n: number): void {
  writeTransaction(db, (tx) => {
    for (let i = 0; i < n; i++) {
      createMessage(tx, noChanges(), { merchantId, afterSaleId, kind: 'EVIDENCE_DUE_SOON', title: 't', body: `b${i}`, at: Date.now() });
    }
  });
}

describe('cross-process relay', () => {
  it('announces a backlog written elsewhere once per row, in slices that let the event loop through', async () => {
    const server: TestServer = await startServer({ RELAY_INTERVAL: '1h' });
    cleanups.push(() => server.stop());
    const { afterSaleId } = await openCase(server, 'shop-r');
    const file = path.join(server.dataDir, 'evidence.db');
    const other = openDatabase(file);
    const here = openDatabase(file);
    cleanups.push(() => closeDatabase(other), () => closeDatabase(here));

    const events = createEvents();
    const heard: number[] = [];
    events.listen('message', 'shop-r', (ref) => heard.push(ref.id));
    const relay = new CrossProcessRelay(here, events, 3_600_000);
    relay.start();
    cleanups.push(() => relay.stop());

    writeElsewhere(other, 'shop-r', Number(decodeGlobalID(afterSaleId).id), 1_234);
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

  it('does not announce again what this process announced itself', async () => {
    const server: TestServer = await startServer({ RELAY_INTERVAL: '1h' });
    cleanups.push(() => server.stop());
    const { afterSaleId } = await openCase(server, 'shop-s');
    const here = openDatabase(path.join(server.dataDir, 'evidence.db'));
    cleanups.push(() => closeDatabase(here));
    const events = createEvents();
    const heard: number[] = [];
    events.listen('message', 'shop-s', (ref) => heard.push(ref.id));
    const relay = new CrossProcessRelay(here, events, 3_600_000);
    relay.start();
    cleanups.push(() => relay.stop());

    const changes = noChanges();
    writeTransaction(here, (tx) => {
      for (let i = 0; i < 3; i++) createMessage(tx, changes, { merchantId: 'shop-s', afterSaleId: Number(decodeGlobalID(afterSaleId).id), kind: 'EVIDENCE_DUE_SOON', title: 't', body: 'b', at: Date.now() });
    });
    events.publishChanges(changes);
    expect(heard).toHaveLength(3);
    expect(await relay.tick()).toBe(3); // it reads them, and knows they were announced
    expect(heard).toHaveLength(3);
  });
});
