import http from 'node:http';
import { Readable } from 'node:stream';

export interface GeneratedFile {
  name: string;
  type: string;
  /** The file's first bytes (a real file's header, so the server's sniffer accepts it). */
  head: Buffer;
  /** Total size; the rest after `head` is padding. */
  size: number;
  /** Varies the padding, so that files of one run differ (the store is content-addressed). */
  salt: number;
}

const CHUNK = 1024 * 1024;

/** The padding after a file's head: one reused 1 MiB buffer, so the client never holds a file in memory. */
function* fileBytes(file: GeneratedFile): Generator<Buffer> {
  yield file.head;
  const pad = Buffer.alloc(CHUNK, file.salt & 0xff);
  pad.writeUInt32BE(file.salt, 0);
  let left = file.size - file.head.length;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    yield n === CHUNK ? pad : pad.subarray(0, n);
    left -= n;
  }
}

/**
 * A GraphQL multipart request as apollo-upload-client sends it: `operations`
 * (with null where each file goes), `map`, then one part per file, named
 * "1", "2", .... Streamed, with its length known up front.
 */
export function multipartBody(query: string, variables: Record<string, unknown>, filesPath: string, files: GeneratedFile[]) {
  const boundary = `----bench${Math.random().toString(16).slice(2)}`;
  const operations = JSON.stringify({ query, variables });
  const map = JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i + 1), [`variables.${filesPath}.${i}`]])));
  const field = (name: string, value: string) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  const fileHeader = (i: number, f: GeneratedFile) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${i + 1}"; filename="${f.name}"\r\nContent-Type: ${f.type}\r\n\r\n`);
  const crlf = Buffer.from('\r\n');
  const end = Buffer.from(`--${boundary}--\r\n`);
  const fixed = [field('operations', operations), field('map', map), ...files.map((f, i) => fileHeader(i, f)), end];
  const length = fixed.reduce((n, b) => n + b.length, 0) + files.reduce((n, f) => n + f.size + crlf.length, 0);
  function* parts(): Generator<Buffer> {
    yield fixed[0]!;
    yield fixed[1]!;
    for (let i = 0; i < files.length; i++) {
      yield fixed[2 + i]!;
      yield* fileBytes(files[i]!);
      yield crlf;
    }
    yield end;
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, length, stream: () => Readable.from(parts(), { objectMode: false }) };
}

/** POSTs a streamed body on a fresh connection; resolves with the answer and the time from first byte sent to answer read. */
export function post(
  url: string,
  headers: Record<string, string | number>,
  body: Readable,
): Promise<{ status: number; text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // An early answer (a refusal) leaves the rest of the body unsent: stop generating it.
        body.unpipe(req);
        body.destroy();
        req.destroy();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), ms: performance.now() - started });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    body.on('error', reject);
    body.pipe(req);
  });
}
