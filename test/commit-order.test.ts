import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { sql, type SQL } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Db } from '../src/db/database.ts';
import { appendLog } from '../src/db/logs.ts';
import { createMessage } from '../src/db/messages.ts';
import { openCase } from './helpers.ts';
import { MESSAGE_BOX } from './message-box.ts';
import { onPostgres } from './stored.ts';
import { socketSuite } from './ws-client.ts';

const suite = socketSuite();
const LOG_ADDED = `subscription Logs($id: ID!) { afterSaleLogAdded(afterSaleId: $id) { id summary } }`;
const localId = (globalId: string) => Number(decodeGlobalID(globalId).id);

/**
 * Two writes to one stream where the first takes its id, then waits while
 * the second begins: without the stream's lock the second would take the
 * next id and commit first, and a reader that moved past it would never see
 * the first. Returns both rows, and how many of the two writes had committed
 * while the first still held its transaction open (with the lock: none).
 * (Which write's answer arrives first says nothing: PostgreSQL releases the
 * first's locks before it answers its COMMIT, so on a busy machine the second
 * can commit and answer in between, as seen once in CI.)
 */
async function outOfOrder<T extends { id: number }>(db: Db, insert: (tx: Db, label: string) => Promise<T>): Promise<{ first: T; second: T; committedWhileHeld: number }> {
  let committed = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let taken!: () => void;
  const firstInserted = new Promise<void>((resolve) => (taken = resolve));
  const first = db.write(async (tx) => {
    const row = await insert(tx, 'first');
    taken();
    await gate;
    return row;
  });
  await firstInserted;
  const second = db.write((tx) => insert(tx, 'second'));
  void first.then(() => committed++);
  void second.then(() => committed++);
  // The second write has begun and is waiting for the stream (or would have committed by now).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const committedWhileHeld = committed;
  release();
  const [a, b] = await Promise.all([first, second]);
  return { first: a, second: b, committedWhileHeld };
}

describe('feeds follow commit order', () => {
  it('delivers both of two messages whose transactions would commit out of id order, in the order they committed', async () => {
    const { server } = suite;
    const { afterSaleId } = await openCase(server, 'shop-order', { request: false });
    const socket = suite.open(await server.merchantToken('shop-order'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    const { first, second, committedWhileHeld } = await outOfOrder(server.app.services.db, (tx, label) =>
      createMessage(tx, { merchantId: 'shop-order', afterSaleId: localId(afterSaleId), kind: 'EVIDENCE_DUE_SOON', title: label, body: label, at: Date.now() }),
    );
    // The second waited for the box while the first held it, so it took its id after the first committed.
    expect(committedWhileHeld).toBe(0);
    expect(first.id).toBeLessThan(second.id);
    const events = await box.received(2);
    expect(events.map((e) => (e.data as any).messageBox.message.id)).toEqual([first, second].map((m) => encodeGlobalID('Message', m.id)));
  });

  it('delivers both of two log lines whose transactions would commit out of id order, in the order they committed', async () => {
    const { server } = suite;
    const { afterSaleId } = await openCase(server, 'shop-order-log', { request: false });
    const socket = suite.open(await server.merchantToken('shop-order-log'));
    const logs = socket.subscribe(LOG_ADDED, { id: afterSaleId });
    await socket.roundTrip();
    const { first, second, committedWhileHeld } = await outOfOrder(server.app.services.db, (tx, label) =>
      appendLog(tx, { afterSaleId: localId(afterSaleId), at: Date.now(), actor: { kind: 'PLATFORM', id: 'agent-1' }, action: 'PLATFORM_INTERVENED', summary: label }),
    );
    expect(committedWhileHeld).toBe(0);
    expect(first.id).toBeLessThan(second.id);
    const events = await logs.received(2);
    expect(events.map((e) => (e.data as any).afterSaleLogAdded.summary)).toEqual(['first', 'second']);
  });
});

function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Raw SQL inside a PostgreSQL transaction, for forcing failures the rules never cause. */
const execute = (tx: Db, query: SQL) => (tx.q as unknown as { execute(q: SQL): Promise<unknown> }).execute(query);

describe.skipIf(!onPostgres)('PostgreSQL transactions', () => {
  it('retries a transaction that fails with a serialization failure, so the caller sees only its result', async () => {
    const db = suite.server.app.services.db;
    let attempts = 0;
    const result = await db.write(async (tx) => {
      attempts++;
      if (attempts === 1) await execute(tx, sql.raw(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`));
      return 'done';
    });
    expect(result).toBe('done');
    expect(attempts).toBe(2);
  });

  it('gives up after a bounded number of attempts and reports the failure', async () => {
    const db = suite.server.app.services.db;
    let attempts = 0;
    await expect(
      db.write(async (tx) => {
        attempts++;
        await execute(tx, sql.raw(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`));
      }),
    ).rejects.toThrow();
    expect(attempts).toBe(5);
  });

  it('survives a real deadlock: the victim is retried and both transactions commit', async () => {
    const { server } = suite;
    const a = localId((await openCase(server, 'shop-lock', { request: false })).afterSaleId);
    const b = localId((await openCase(server, 'shop-lock', { request: false })).afterSaleId);
    const db = server.app.services.db;
    const attempts = [0, 0];
    const holding = [latch(), latch()];
    const crosswise = (me: 0 | 1, mine: number, theirs: number) =>
      db.write(async (tx) => {
        attempts[me]!++;
        await execute(tx, sql`select id from after_sales where id = ${mine} for update`);
        holding[me]!.open();
        await holding[1 - me]!.opened;
        await execute(tx, sql`select id from after_sales where id = ${theirs} for update`);
        return me;
      });
    expect(await Promise.all([crosswise(0, a, b), crosswise(1, b, a)])).toEqual([0, 1]);
    expect(attempts[0]! + attempts[1]!).toBe(3);
  });
});
