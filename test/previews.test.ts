import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, fixture, openCase, startServer, submitEvidence, tempDir, type TestServer, type UploadFile } from './helpers.ts';

interface File { id: string; fileName: string; contentType: string; sha256: string; url: string; thumbnailUrl: string | null }

let server: TestServer;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  server = await startServer({}, { clock });
});
afterAll(() => server.stop());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const previewsDir = () => path.join(server.dataDir, 'files', 'previews');

async function submit(files: UploadFile[], target = server): Promise<File[]> {
  const token = await target.merchantToken('shop-a');
  const { requestId } = await openCase(target, 'shop-a');
  const { body } = await submitEvidence(target, token, { evidenceRequestId: requestId!, explanation: 'Photos attached' }, files);
  expect(body.data!.submitEvidence.__typename).toBe('SubmitEvidencePayload');
  const id = body.data!.submitEvidence.submission.id;
  const res = await target.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceSubmission { files { id fileName contentType sha256 url thumbnailUrl } } } }`, { id });
  return res.data!.node.files;
}

async function fetchPreview(url: string) {
  const res = await fetch(url);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** A PNG whose header claims `width` × `height` pixels, carried by a few hundred bytes: a decompression bomb. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(width + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('thumbnailUrl', () => {
  it('gives JPEG, PNG, WebP and GIF a WebP preview at most 320 pixels wide, and PDF, HEIC and video none', async () => {
    const names = ['parcel-photo.jpg', 'chat-screenshot.png', 'chat-screenshot.webp', 'label.gif', 'parcel-photo.heic', 'waybill.pdf', 'unboxing.mp4', 'unboxing.mov'];
    const files = await submit(names.map((name) => ({ content: fixture(name), name })));
    expect(files.map((f) => f.thumbnailUrl === null)).toEqual([false, false, false, false, true, true, true, true]);
    const expected = [[320, 240], [320, 693], [320, 693], [120, 80]];
    for (const [i, file] of files.slice(0, 4).entries()) {
      expect(file.thumbnailUrl).toMatch(new RegExp(`^${server.url}/previews/`));
      const { res, bytes } = await fetchPreview(file.thumbnailUrl!);
      expect(res.status, file.fileName).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('webp');
      expect([meta.width, meta.height], file.fileName).toEqual(expected[i]);
      // The original is untouched: same bytes, same hash.
      const original = Buffer.from(await (await fetch(file.url)).arrayBuffer());
      expect(original.equals(fs.readFileSync(fixture(names[i]!)))).toBe(true);
      expect(sha(original)).toBe(file.sha256);
    }
  });

  it('strips EXIF, GPS and the colour profile from the preview of a photo that carries them, and keeps them in the original', async () => {
    const photo = await sharp(fixture('parcel-photo.jpg'))
      .withExif({
        IFD0: { Make: 'TestCam', Copyright: 'Shop A' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '31/1 14/1 1234/100', GPSLongitudeRef: 'E', GPSLongitude: '121/1 28/1 4321/100' },
      })
      .withIccProfile('p3')
      .jpeg()
      .toBuffer();
    const before = await sharp(photo).metadata();
    expect(before.exif?.includes(Buffer.from('TestCam'))).toBe(true);
    expect(before.icc).toBeDefined();
    const [file] = await submit([{ content: photo, name: 'gps.jpg' }]);
    expect(file!.sha256).toBe(sha(photo));

    const { res, bytes } = await fetchPreview(file!.thumbnailUrl!);
    expect(res.status).toBe(200);
    const meta = await sharp(bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(bytes.includes(Buffer.from('Exif'))).toBe(false);
    expect(bytes.includes(Buffer.from('TestCam'))).toBe(false);

    const original = Buffer.from(await (await fetch(file!.url)).arrayBuffer());
    expect(original.equals(photo)).toBe(true);
    expect((await sharp(original).metadata()).exif?.includes(Buffer.from('TestCam'))).toBe(true);
  });

  it('turns the preview upright by the photo\'s EXIF orientation before dropping it', async () => {
    const sideways = await sharp(fixture('parcel-photo.jpg')).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const [file] = await submit([{ content: sideways, name: 'sideways.jpg' }]);
    const meta = await sharp((await fetchPreview(file!.thumbnailUrl!)).bytes).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([320, 427, undefined]);
  });

  it('makes a preview once, also for many requests at once, and then serves it from the previews folder', async () => {
    const bytes = await sharp(fixture('chat-screenshot.png')).flop().png().toBuffer();
    const [file] = await submit([{ content: bytes, name: 'flopped.png' }]);
    const folder = path.join(previewsDir(), file!.sha256.slice(0, 2));
    fs.mkdirSync(folder, { recursive: true });
    const seen = new Set<string>();
    const watcher = fs.watch(folder, (_event, name) => name && seen.add(name));
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetchPreview(file!.thumbnailUrl!)));
      expect(answers.map((a) => a.res.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => sha(a.bytes))).size).toBe(1);
      const made = path.join(folder, `${file!.sha256}-w320.webp`);
      const { mtimeMs } = fs.statSync(made);
      const again = await fetchPreview(file!.thumbnailUrl!);
      expect(again.bytes.equals(answers[0]!.bytes)).toBe(true);
      expect(fs.statSync(made).mtimeMs).toBe(mtimeMs);
      expect(fs.readFileSync(made).equals(answers[0]!.bytes)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect([...seen].filter((name) => name.endsWith('.tmp'))).toHaveLength(1);
    } finally {
      watcher.close();
    }
  });

  it('answers the preview link with HEAD, 304 on its ETag and a max-age within the link\'s life', async () => {
    const [file] = await submit([{ content: fixture('label.gif'), name: 'label.gif' }]);
    const head = await fetch(file!.thumbnailUrl!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('image/webp');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(head.headers.get('cache-control')).toBe('private, max-age=900');
    const etag = head.headers.get('etag')!;
    expect(etag).toBe(`"${file!.sha256}-w320"`);
    const { default: http } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      http.get(file!.thumbnailUrl!, { headers: { 'if-none-match': etag } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(304);
  });

  it('has the same life as url, and refuses a tampered or expired preview link', async () => {
    const [file] = await submit([{ content: fixture('label.gif'), name: 'label.gif' }]);
    const link = new URL(file!.thumbnailUrl!);
    expect(link.searchParams.get('expires')).toBe(new URL(file!.url).searchParams.get('expires'));
    const tampered: URL[] = [];
    const withSig = new URL(link);
    withSig.searchParams.set('sig', new URL(file!.url).searchParams.get('sig')!);
    tampered.push(withSig);
    const later = new URL(link);
    later.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 60_000));
    tampered.push(later);
    const wider = new URL(link);
    wider.pathname = wider.pathname.replace(/\/320$/, '/640');
    tampered.push(wider);
    const other = new URL(link);
    other.pathname = other.pathname.replace(/\/previews\/\d+/, '/previews/999999');
    tampered.push(other);
    for (const url of tampered) expect((await fetch(url)).status, url.pathname).toBe(403);
    // The file's own link does not open the preview, nor the preview's the file.
    const asFile = new URL(file!.url);
    asFile.search = link.search;
    expect((await fetch(asFile)).status).toBe(403);

    clock.advance(15 * 60_000);
    try {
      expect((await fetch(link)).status).toBe(403);
    } finally {
      clock.advance(-15 * 60_000);
    }
  });

  it('gives an image that will not decode no preview, and still serves its original', async () => {
    const photo = fs.readFileSync(fixture('parcel-photo.jpg'));
    const broken = Buffer.concat([photo.subarray(0, 5000), Buffer.alloc(3000, 0x5a)]);
    const bomb = pngClaiming(30_000, 30_000);
    const files = await submit([{ content: broken, name: 'broken.jpg' }, { content: bomb, name: 'bomb.png' }]);
    expect(files.map((f) => f.contentType)).toEqual(['image/jpeg', 'image/png']);
    for (const file of files) {
      const started = Date.now();
      const { res } = await fetchPreview(file.thumbnailUrl!);
      expect(res.status, file.fileName).toBe(404);
      expect(Date.now() - started).toBeLessThan(5000);
      const original = await fetch(file.url);
      expect(original.status).toBe(200);
      expect(sha(Buffer.from(await original.arrayBuffer()))).toBe(file.sha256);
    }
    // Known now: the next answer has no link, and the server goes on serving.
    const [again] = await submit([{ content: broken, name: 'broken-again.jpg' }]);
    expect(again!.thumbnailUrl).toBeNull();
    const ok = await submit([{ content: fixture('label.gif'), name: 'label.gif' }]);
    expect((await fetch(ok[0]!.thumbnailUrl!)).status).toBe(200);
  });

  it('keeps the previews of stored files across a restart and drops those of files no row refers to', async () => {
    const dataDir = tempDir();
    const first = await startServer({}, { dataDir });
    const [file] = await submit([{ content: fixture('parcel-photo.jpg'), name: 'kept.jpg' }], first);
    expect((await fetch(file!.thumbnailUrl!)).status).toBe(200);
    await first.stop();
    const previews = path.join(dataDir, 'files', 'previews');
    const kept = path.join(previews, file!.sha256.slice(0, 2), `${file!.sha256}-w320.webp`);
    const orphan = path.join(previews, 'ff', `${'f'.repeat(64)}-w320.webp`);
    const staleTemp = `${orphan}.1-dead.tmp`;
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, 'old');
    fs.writeFileSync(staleTemp, 'half');
    const longAgo = new Date(Date.now() - 2 * 3_600_000);
    // Old folders too: the files' own orphan sweep must leave previews/ alone, however old.
    for (const entry of [staleTemp, path.dirname(orphan), previews]) fs.utimesSync(entry, longAgo, longAgo);

    const again = await startServer({}, { dataDir });
    try {
      expect(fs.existsSync(kept)).toBe(true);
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(staleTemp)).toBe(false);
      const token = await again.merchantToken('shop-a');
      const res = await again.gql(token, `query($id: ID!) { node(id: $id) { ... on EvidenceFile { thumbnailUrl } } }`, { id: file!.id });
      expect((await fetch(res.data!.node.thumbnailUrl)).status).toBe(200);
    } finally {
      await again.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
