import { afterAll, describe, expect, it } from 'vitest';
import { openCase, startServer, tempDir, type TestServer } from './helpers.ts';
import { MESSAGE_BOX, type BoxEvent } from './message-box.ts';
import { connect, type Socket } from './ws-client.ts';
import { onPostgres } from './stored.ts';

const LOG_ADDED = `subscription Logs($id: ID!) { afterSaleLogAdded(afterSaleId: $id) { action } }`;
const servers: TestServer[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  for (const s of servers.reverse()) await s.stop();
});

// Processes sharing one SQLite file hear of each other through the relay; PostgreSQL instances through Redis.
describe.skipIf(onPostgres)('two servers sharing one database', () => {
  it('push to a socket held by one what the other wrote, once each', async () => {
    const dataDir = tempDir();
    const a = await startServer({ RELAY_INTERVAL: '200ms' }, { dataDir });
    const b = await startServer({ RELAY_INTERVAL: '200ms' }, { dataDir });
    servers.push(a, b);
    const socket = connect(b.url, await b.merchantToken('shop-x'));
    sockets.push(socket);
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();

    // The platform's request goes through server A; the merchant's socket is on B.
    const { afterSaleId } = await openCase(a, 'shop-x');
    const logs = socket.subscribe(LOG_ADDED, { id: afterSaleId });
    await socket.roundTrip();
    const requested = (await box.nextData<BoxEvent>()).messageBox;
    expect(requested).toMatchObject({ unreadCount: 1, message: { kind: 'EVIDENCE_REQUESTED', afterSale: { id: afterSaleId } } });

    await a.gql(await a.platformToken(), `mutation($input: ResolveArbitrationInput!) { resolveArbitration(input: $input) { __typename } }`, {
      input: { afterSaleId, outcome: 'MERCHANT_FAVORED' },
    });
    const resolved = (await box.nextData<BoxEvent>()).messageBox;
    expect(resolved).toMatchObject({ unreadCount: 2, message: { kind: 'ARBITRATION_RESOLVED' } });
    expect((await logs.nextData<any>()).afterSaleLogAdded.action).toBe('EVIDENCE_REQUEST_CANCELLED');
    expect((await logs.nextData<any>()).afterSaleLogAdded.action).toBe('ARBITRATION_RESOLVED');

    // Nothing arrives twice, though B also hears of its own and A's rows through the relay.
    await b.gql(await b.platformToken(), `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { __typename } }`, {
      input: { merchantId: 'shop-x', number: 'X-2', orderNumber: 'OX-2', type: 'REFUND_ONLY', reason: 'r', buyerClaim: 'c', amountCents: 1 },
    });
    await new Promise((r) => setTimeout(r, 600));
    const platform = await b.platformToken();
    const id = (await b.gql(platform, `{ afterSale(id: "${Buffer.from('AfterSale:2').toString('base64')}") { id } }`)).data.afterSale.id;
    await b.gql(platform, `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) { __typename } }`, { input: { afterSaleId: id, instructions: 'More' } });
    const third = (await box.nextData<BoxEvent>()).messageBox;
    expect(third).toMatchObject({ unreadCount: 3, message: { kind: 'EVIDENCE_REQUESTED', afterSale: { id } } });
  });
});
