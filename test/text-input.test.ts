import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submissionRows } from './stored.ts';
import { fixture, openCase, startServer, storedFiles, submitEvidence, type TestServer } from './helpers.ts';

let server: TestServer;
let merchant: string;
let platform: string;

beforeAll(async () => {
  server = await startServer();
  merchant = await server.merchantToken('shop-a');
  platform = await server.platformToken();
});
afterAll(() => server?.stop());

const REQUEST = `mutation($input: RequestEvidenceInput!) {
  requestEvidence(input: $input) {
    __typename
    ... on InvalidInputError { field message }
    ... on RequestEvidencePayload { evidenceRequest { instructions } }
  }
}`;
const AFTER_SALE = `query($id: ID!) { afterSale(id: $id) { status evidenceRequests { id } } }`;

/** Bad text in every control and bidi form a client could slip in. */
const HOSTILE = ['nul\u0000byte', 'bell\u0007rings', 'escape\u001B[31mred', 'delete\u007F', 'c1\u0085control', 'right\u202Eto-left', 'isolate\u2066here'];

async function submit(requestId: string, explanation: string) {
  const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId, explanation }, [
    { content: fixture('label.gif'), name: 'label.gif' },
  ]);
  return body.data!.submitEvidence;
}

describe('explanations', () => {
  it('counts the length after trimming: 2 to 2,000 characters, whitespace around them free', async () => {
    const before = { rows: await submissionRows(server.dataDir), files: storedFiles(server.dataDir) };
    for (const explanation of ['   x   ', '\n\t \n', 'y'.repeat(2001), `  ${'长'.repeat(2001)}  `]) {
      const { requestId } = await openCase(server, 'shop-a');
      expect(await submit(requestId!, explanation)).toMatchObject({ __typename: 'InvalidInputError', field: 'explanation' });
    }
    expect(await submissionRows(server.dataDir)).toEqual(before.rows);
    expect(storedFiles(server.dataDir)).toEqual(before.files);

    for (const explanation of [' ok ', `\n${'长'.repeat(2000)}\n  `, `${'😀'.repeat(2000)}`]) {
      const { requestId } = await openCase(server, 'shop-a');
      const result = await submit(requestId!, explanation);
      expect(result.__typename).toBe('SubmitEvidencePayload');
      expect(result.submission.explanation).toBe(explanation.trim());
    }
  });

  it('refuses control and bidi-override characters with InvalidInputError and stores nothing', async () => {
    const { requestId, afterSaleId } = await openCase(server, 'shop-a');
    const before = { rows: await submissionRows(server.dataDir), files: storedFiles(server.dataDir) };
    for (const explanation of HOSTILE) {
      expect(await submit(requestId!, explanation)).toMatchObject({ __typename: 'InvalidInputError', field: 'explanation' });
    }
    expect(await submissionRows(server.dataDir)).toEqual(before.rows);
    expect(storedFiles(server.dataDir)).toEqual(before.files);
    const after = await server.gql(merchant, AFTER_SALE, { id: afterSaleId });
    expect(after.data!.afterSale.status).toBe('AWAITING_MERCHANT_EVIDENCE');
  });

  it('keeps line breaks and tabs, which are ordinary in a written explanation', async () => {
    const { requestId } = await openCase(server, 'shop-a');
    const result = await submit(requestId!, 'Line one\r\n\tLine two');
    expect(result.__typename).toBe('SubmitEvidencePayload');
    expect(result.submission.explanation).toBe('Line one\r\n\tLine two');
  });
});

describe('instructions', () => {
  it('counts the length after trimming: 1 to 2,000 characters, and opens no round otherwise', async () => {
    const { afterSaleId } = await openCase(server, 'shop-a', { request: false });
    for (const instructions of ['    ', '\n\t', 'z'.repeat(2001), ` ${'证'.repeat(2001)} `]) {
      const { data } = await server.gql(platform, REQUEST, { input: { afterSaleId, instructions } });
      expect(data!.requestEvidence).toMatchObject({ __typename: 'InvalidInputError', field: 'instructions' });
    }
    const unchanged = await server.gql(platform, AFTER_SALE, { id: afterSaleId });
    expect(unchanged.data!.afterSale).toEqual({ status: 'PLATFORM_INTERVENING', evidenceRequests: [] });

    const { data } = await server.gql(platform, REQUEST, { input: { afterSaleId, instructions: `  ${'证'.repeat(2000)}  ` } });
    expect(data!.requestEvidence.evidenceRequest.instructions).toBe('证'.repeat(2000));
  });

  it('refuses control and bidi-override characters with InvalidInputError and opens no round', async () => {
    const { afterSaleId } = await openCase(server, 'shop-a', { request: false });
    for (const instructions of HOSTILE) {
      const { data } = await server.gql(platform, REQUEST, { input: { afterSaleId, instructions } });
      expect(data!.requestEvidence).toMatchObject({ __typename: 'InvalidInputError', field: 'instructions' });
    }
    const unchanged = await server.gql(platform, AFTER_SALE, { id: afterSaleId });
    expect(unchanged.data!.afterSale).toEqual({ status: 'PLATFORM_INTERVENING', evidenceRequests: [] });
  });
});
