import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stored, submissionRows } from './stored.ts';
import { fixture, openCase, startServer, storedFiles, submitEvidence, uploadRequest, SUBMIT, type TestServer } from './helpers.ts';
import { multipartBody, openRaw, post, readUntilClosed, submitFields, type Part } from './multipart.ts';

const MiB = 1024 * 1024;
const PREFLIGHT = { 'apollo-require-preflight': 'true' };
const photo = fs.readFileSync(fixture('parcel-photo.jpg'));
/** A real JPEG head followed by zeros: sniffed as JPEG, as large as a test needs. */
const jpegOf = (bytes: number) => Buffer.concat([photo, Buffer.alloc(Math.max(0, bytes - photo.length))]).subarray(0, bytes);

let server: TestServer;
/** Small limits, so limits can be crossed with little data. */
let tight: TestServer;
/** A short idle timeout, for clients that stop sending (kept off `tight`, whose big bodies may pause on a busy machine). */
let impatient: TestServer;
let merchant: string;
let tightMerchant: string;
let impatientMerchant: string;

beforeAll(async () => {
  [server, tight, impatient] = await Promise.all([
    startServer(),
    startServer({ MAX_DOCUMENT_BYTES: '200000', MAX_TOTAL_BYTES: '300000' }),
    startServer({ UPLOAD_IDLE_TIMEOUT: '500ms' }),
  ]);
  merchant = await server.merchantToken('shop-a');
  tightMerchant = await tight.merchantToken('shop-a');
  impatientMerchant = await impatient.merchantToken('shop-a');
});
afterAll(() => Promise.all([server?.stop(), tight?.stop(), impatient?.stop()]));

const ROUND = `query($id: ID!) { node(id: $id) { ... on EvidenceRequest { status submission { id } afterSale { status } } } }`;

/** What a refused upload must leave: the round still open and empty, no new row, no new file. */
async function expectNothingStored(s: TestServer, token: string, requestId: string, before: { files: string[]; rows: object }) {
  const round = await s.gql(token, ROUND, { id: requestId });
  expect(round.data!.node).toEqual({ status: 'OPEN', submission: null, afterSale: { status: 'AWAITING_MERCHANT_EVIDENCE' } });
  expect(await submissionRows(s.dataDir)).toEqual(before.rows);
  expect(storedFiles(s.dataDir)).toEqual(before.files);
}

/** A plain, valid submission: proof that the server still serves after the abuse. */
async function expectStillServing(s: TestServer, token: string) {
  const { requestId } = await openCase(s, 'shop-a');
  const { status, body } = await submitEvidence(s, token, { evidenceRequestId: requestId!, explanation: 'Still here' }, [
    { content: fixture('label.gif'), name: 'label.gif' },
  ]);
  expect(status).toBe(200);
  expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
}

async function arrange(s: TestServer) {
  const { requestId } = await openCase(s, 'shop-a');
  return { requestId: requestId!, before: { files: storedFiles(s.dataDir), rows: await submissionRows(s.dataDir) } };
}

function submitParts(requestId: string, files: Part[], explanation = 'Please look') {
  return [...submitFields(SUBMIT, { evidenceRequestId: requestId, explanation }, files.length), ...files];
}

describe('hostile uploads', () => {
  it('refuses HTML named .png and an executable named .jpg by their bytes, storing nothing', async () => {
    for (const name of ['spoofed-html.png', 'spoofed-exe.jpg']) {
      const { requestId, before } = await arrange(server);
      const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId, explanation: 'Look' }, [
        { content: fixture('waybill.pdf'), name: 'waybill.pdf' },
        { content: fixture(name), name, type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' },
      ]);
      expect(body.data!.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: name, reason: 'UNSUPPORTED_TYPE' });
      await expectNothingStored(server, merchant, requestId, before);
    }
    await expectStillServing(server, merchant);
  });

  it('refuses an empty file with FileRejectedError EMPTY, storing nothing', async () => {
    const { requestId, before } = await arrange(server);
    const { body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId, explanation: 'Look' }, [
      { content: fixture('label.gif'), name: 'label.gif' },
      { content: Buffer.alloc(0), name: 'empty.jpg', type: 'image/jpeg' },
    ]);
    expect(body.data!.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: 'empty.jpg', reason: 'EMPTY' });
    await expectNothingStored(server, merchant, requestId, before);
    await expectStillServing(server, merchant);
  });

  it('cuts a file off once it passes its kind\'s limit, answering TOO_LARGE without reading the rest of the body', async () => {
    const { requestId, before } = await arrange(tight);
    // Far more than the server drains before it answers a refused body (8 MiB), sent without a declared length.
    const total = 96 * MiB;
    const { boundary } = multipartBody([]);
    const head = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n` +
          JSON.stringify({ query: SUBMIT, variables: { input: { evidenceRequestId: requestId, explanation: 'Huge', files: [null] } } }) +
          `\r\n--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"1":["variables.input.files.0"]}` +
          `\r\n--${boundary}\r\nContent-Disposition: form-data; name="1"; filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      photo,
    ]);
    const zeros = Buffer.alloc(256 * 1024);
    const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = http.request(`${tight.url}/graphql`, {
        method: 'POST',
        headers: { ...PREFLIGHT, authorization: `Bearer ${tightMerchant}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), sent }));
      });
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
      const pump = () => {
        while (!answered && sent < total) {
          sent += zeros.length;
          if (!req.write(zeros)) return void req.once('drain', pump);
        }
        if (!answered) req.end(`\r\n--${boundary}--\r\n`);
      };
      req.write(head);
      sent += head.length;
      pump();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data.submitEvidence).toMatchObject({ __typename: 'FileRejectedError', fileName: 'huge.jpg', reason: 'TOO_LARGE' });
    // Had the server read to the end, the whole body would have been sent.
    expect(answer.sent).toBeLessThan(total / 2);
    await vi.waitFor(() => expect(storedFiles(tight.dataDir)).toEqual(before.files));
    await expectNothingStored(tight, tightMerchant, requestId, before);
    await expectStillServing(tight, tightMerchant);
  });

  it('answers a body declaring more than the total limit with 413 without waiting for it to arrive', async () => {
    const { requestId, before } = await arrange(tight);
    const { contentType, body } = multipartBody(submitParts(requestId, [{ name: '1', filename: 'a.jpg', data: jpegOf(100_000) }]));
    const socket = await openRaw(tight.url, { ...PREFLIGHT, authorization: `Bearer ${tightMerchant}`, 'content-type': contentType, 'content-length': String(2 * 1024 * MiB) }, body);
    const reply = await readUntilClosed(socket);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toContain('PAYLOAD_TOO_LARGE');
    await expectNothingStored(tight, tightMerchant, requestId, before);
    await expectStillServing(tight, tightMerchant);
  });

  it('refuses files that together pass the total limit with InvalidInputError on files', async () => {
    const { requestId, before } = await arrange(tight);
    const files = [1, 2, 3].map((i) => ({ content: jpegOf(120_000), name: `part-${i}.jpg` }));
    const { body } = await submitEvidence(tight, tightMerchant, { evidenceRequestId: requestId, explanation: 'Three photos' }, files);
    expect(body.data!.submitEvidence).toMatchObject({ __typename: 'InvalidInputError', field: 'files' });
    await expectNothingStored(tight, tightMerchant, requestId, before);
    await expectStillServing(tight, tightMerchant);
  });

  it('refuses more than 9 files and no files with InvalidInputError on files', async () => {
    for (const count of [10, 0]) {
      const { requestId, before } = await arrange(server);
      const files = Array.from({ length: count }, (_, i) => ({ content: fixture('label.gif'), name: `label-${i}.gif` }));
      const { status, body } = await submitEvidence(server, merchant, { evidenceRequestId: requestId, explanation: `${count} files` }, files);
      expect(status).toBe(200);
      expect(body.data!.submitEvidence).toMatchObject({ __typename: 'InvalidInputError', field: 'files' });
      await expectNothingStored(server, merchant, requestId, before);
    }
    await expectStillServing(server, merchant);
  });

  it('answers a multipart body without an operations field with 400', async () => {
    const { requestId, before } = await arrange(server);
    const { contentType, body } = multipartBody([
      { name: 'map', data: '{"1":["variables.input.files.0"]}' },
      { name: '1', filename: 'label.gif', data: fs.readFileSync(fixture('label.gif')) },
    ]);
    const res = await post(server.url, { ...PREFLIGHT, authorization: `Bearer ${merchant}`, 'content-type': contentType }, body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).errors[0].message).toMatch(/operations/);
    await expectNothingStored(server, merchant, requestId, before);
    await expectStillServing(server, merchant);
  });

  it('answers a map that points outside the operation with 400, and one naming a file never sent with InvalidInputError', async () => {
    const { requestId, before } = await arrange(server);
    const [operations] = submitFields(SUBMIT, { evidenceRequestId: requestId, explanation: 'Look' }, 1);
    const gif = fs.readFileSync(fixture('label.gif'));
    const nowhere = multipartBody([operations!, { name: 'map', data: '{"1":["variables.input.nothing.0"]}' }, { name: '1', filename: 'a.gif', data: gif }]);
    const res = await post(server.url, { ...PREFLIGHT, authorization: `Bearer ${merchant}`, 'content-type': nowhere.contentType }, nowhere.body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).errors[0].message).toMatch(/'map'/);

    const missing = multipartBody([operations!, { name: 'map', data: '{"1":["variables.input.files.0"]}' }, { name: '2', filename: 'a.gif', data: gif }]);
    const answer = await post(server.url, { ...PREFLIGHT, authorization: `Bearer ${merchant}`, 'content-type': missing.contentType }, missing.body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data.submitEvidence).toMatchObject({ __typename: 'InvalidInputError', field: 'files' });
    await expectNothingStored(server, merchant, requestId, before);
    await expectStillServing(server, merchant);
  });

  it('forgets a body cut off midway: no row, no temporary file', async () => {
    const { requestId, before } = await arrange(server);
    const { contentType, body } = multipartBody(submitParts(requestId, [{ name: '1', filename: 'big.jpg', data: jpegOf(4 * MiB) }]));
    const socket = await openRaw(server.url, { ...PREFLIGHT, authorization: `Bearer ${merchant}`, 'content-type': contentType, 'content-length': String(body.length) }, body.subarray(0, 2 * MiB));
    // The upload has reached the disk before the client goes away.
    await vi.waitFor(() => expect(storedFiles(server.dataDir).length).toBeGreaterThan(before.files.length));
    socket.destroy();
    await vi.waitFor(() => expect(storedFiles(server.dataDir)).toEqual(before.files));
    await expectNothingStored(server, merchant, requestId, before);
    await expectStillServing(server, merchant);
  });

  it('answers a client that stops sending with 408 and forgets its upload', async () => {
    const { requestId, before } = await arrange(impatient);
    const { contentType, body } = multipartBody(submitParts(requestId, [{ name: '1', filename: 'slow.jpg', data: jpegOf(150_000) }]));
    const socket = await openRaw(impatient.url, { ...PREFLIGHT, authorization: `Bearer ${impatientMerchant}`, 'content-type': contentType, 'content-length': String(body.length) }, body.subarray(0, 60_000));
    const reply = await readUntilClosed(socket);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('UPLOAD_TIMEOUT');
    await vi.waitFor(() => expect(storedFiles(impatient.dataDir)).toEqual(before.files));
    await expectNothingStored(impatient, impatientMerchant, requestId, before);
    await expectStillServing(impatient, impatientMerchant);
  });

  it('answers a JSON request whose body stops arriving with 408, and records nothing', async () => {
    const platform = await impatient.platformToken();
    const number = `AS-STALL-${process.pid}`;
    const body = Buffer.from(
      JSON.stringify({
        query: `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { __typename } }`,
        variables: { input: { merchantId: 'shop-a', number, orderNumber: 'OD-1', type: 'REFUND_ONLY', reason: 'r', buyerClaim: 'c', amountCents: 1 } },
      }),
    );
    const socket = await openRaw(impatient.url, { authorization: `Bearer ${platform}`, 'content-type': 'application/json', 'content-length': String(body.length) }, body.subarray(0, body.length - 10));
    const reply = await readUntilClosed(socket);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('REQUEST_TIMEOUT');
    const recorded = { n: await stored(impatient.dataDir, (db) => db.count('SELECT count(*) AS n FROM after_sales WHERE number = ?', number)) };
    expect(recorded.n).toBe(0);
    await expectStillServing(impatient, impatientMerchant);
  });

  it('keeps hostile file names as harmless labels: no path parts, no bidi override, at most 255 characters', async () => {
    const { requestId } = await arrange(server);
    const long = `${'长'.repeat(5000)}.jpg`;
    const names = ['../../etc/passwd.jpg', 'invoice\u202Egpj.exe', long];
    const res = await uploadRequest(server.url, merchant, SUBMIT, { input: { evidenceRequestId: requestId, explanation: 'Names', files: [] } }, 'input.files', names.map((name) => ({ content: photo, name })));
    const result = (await res.json()).data.submitEvidence;
    expect(result.__typename).toBe('SubmitEvidencePayload');
    const stored = result.submission.files.map((f: { fileName: string }) => f.fileName);
    expect(stored[0]).toBe('passwd.jpg');
    expect(stored[1]).toBe('invoicegpj.exe');
    expect([...stored[2]]).toHaveLength(255);
    expect(stored[2].endsWith('.jpg')).toBe(true);
    // Files live under their hash only, whatever the name said.
    for (const file of storedFiles(server.dataDir)) expect(path.relative(server.dataDir, file)).toMatch(/^files\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    expect(fs.existsSync(path.resolve(server.dataDir, 'tmp', '../../etc/passwd.jpg'))).toBe(false);
    const served = await fetch(result.submission.files[1].url);
    expect(served.headers.get('content-disposition')).not.toMatch(/\u202E|%E2%80%AE/i);
    await expectStillServing(server, merchant);
  });
});
