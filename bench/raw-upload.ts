import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serveBaseline } from './lib/ipc.ts';

/**
 * The raw baseline for uploads: node:http streaming the request body through
 * SHA-256 to a file on the same disk, then fsync, as the service does with a
 * file's bytes, but with no multipart parsing, sniffing, limits or database.
 */
const dir = process.env.DATA_DIR!;
fs.mkdirSync(dir, { recursive: true });

const server = http.createServer(async (req, res) => {
  const file = path.join(dir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      req,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      fs.createWriteStream(file, { flags: 'wx' }),
    );
    const fd = fs.openSync(file, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const text = JSON.stringify({ bytes, sha256: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  } catch {
    res.destroy();
  } finally {
    fs.rmSync(file, { force: true });
  }
});

serveBaseline(server);
