import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, submitEvidence, type TestServer } from './helpers.ts';

let server: TestServer;
let merchant: string;
let video: { url: string; sha256: string; byteSize: number };
const bytes = fs.readFileSync(fixture('unboxing.mp4'));

async function submitOne(target: TestServer, token: string, name: string) {
  const { requestId } = await openCase(target, 'shop-a');
  const { body } = await submitEvidence(target, token, { evidenceRequestId: requestId!, explanation: 'The unboxing video' }, [{ content: fixture(name), name }]);
  return body.data!.submitEvidence.submission.files[0] as { url: string; sha256: string; byteSize: number };
}

beforeAll(async () => {
  server = await startServer();
  merchant = await server.merchantToken('shop-a');
  video = await submitOne(server, merchant, 'unboxing.mp4');
});
afterAll(() => server.stop());

/**
 * A plain request, as a browser revalidating its cache sends it: fetch adds
 * `cache-control: no-cache` to a conditional request, which asks for the whole file.
 */
function raw(url: string, headers: Record<string, string>, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

const range = (value: string, extra: Record<string, string> = {}) => fetch(video.url, { headers: { range: value, ...extra } });

describe('file links', () => {
  it('answers a whole GET with the exact bytes, Accept-Ranges, the quoted SHA-256 as ETag and a private max-age', async () => {
    const res = await fetch(video.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toBe(`"${video.sha256}"`);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=(\d+)$/);
    expect(Number(/max-age=(\d+)/.exec(res.headers.get('cache-control')!)![1])).toBeLessThanOrEqual(900);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers Range bytes=a-b, a- and -n with 206, Content-Range and exactly those bytes', async () => {
    const size = bytes.length;
    for (const [header, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-1999', 1000, 1999],
      [`bytes=${size - 10}-${size + 500}`, size - 10, size - 1],
      ['bytes=15000-', 15000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=-${size * 2}`, 0, size - 1],
    ] as const) {
      const res = await range(header);
      expect(res.status, header).toBe(206);
      expect(res.headers.get('content-range'), header).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length'), header).toBe(String(end - start + 1));
      expect(res.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1)), header).toBe(true);
    }
  });

  it('answers an unsatisfiable range with 416 and Content-Range: bytes */size', async () => {
    for (const header of [`bytes=${bytes.length}-`, `bytes=${bytes.length + 100}-${bytes.length + 200}`, 'bytes=-0']) {
      const res = await range(header);
      expect(res.status, header).toBe(416);
      expect(res.headers.get('content-range'), header).toBe(`bytes */${bytes.length}`);
      await res.arrayBuffer();
    }
  });

  it('serves a malformed range header as the whole file', async () => {
    const res = await range('bytes=abc');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers HEAD with the headers of the GET and no body, for a range too', async () => {
    const head = await fetch(video.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('etag')).toBe(`"${video.sha256}"`);
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('content-type')).toBe('video/mp4');
    expect(head.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const part = await fetch(video.url, { method: 'HEAD', headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${bytes.length}`);
    expect((await part.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers If-None-Match with the ETag by 304 and no body, and another ETag by the file', async () => {
    const same = await raw(video.url, { 'if-none-match': `"${video.sha256}"` });
    expect(same.status).toBe(304);
    expect(same.headers.etag).toBe(`"${video.sha256}"`);
    expect(same.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    expect(same.body.length).toBe(0);
    const listed = await raw(video.url, { 'if-none-match': `"other", "${video.sha256}"` });
    expect(listed.status).toBe(304);
    const other = await raw(video.url, { 'if-none-match': '"0000"' });
    expect(other.status).toBe(200);
    expect(other.body.equals(bytes)).toBe(true);
  });

  it('refuses a tampered or expired link before any range or condition is looked at', async () => {
    const tampered = new URL(video.url);
    tampered.searchParams.set('sig', `${tampered.searchParams.get('sig')!.slice(0, -2)}AA`);
    const res = await fetch(tampered, { headers: { range: 'bytes=0-9' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-range')).toBeNull();
  });
});

describe('the cache header follows the link', () => {
  it('gives a max-age no longer than what is left of FILE_URL_TTL, and refuses the link once it has passed', async () => {
    const clock = new FakeClock();
    const short = await startServer({ FILE_URL_TTL: '90s' }, { clock });
    try {
      const file = await submitOne(short, await short.merchantToken('shop-a'), 'unboxing.mp4');
      const fresh = await fetch(file.url);
      expect(fresh.headers.get('cache-control')).toBe('private, max-age=90');
      await fresh.arrayBuffer();
      clock.advance(60_500);
      const later = await fetch(file.url, { method: 'HEAD' });
      expect(later.headers.get('cache-control')).toBe('private, max-age=29');
      clock.advance(29_500);
      expect((await fetch(file.url)).status).toBe(403);
    } finally {
      await short.stop();
    }
  });
});
