import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { serveBaseline } from './lib/ipc.ts';

/**
 * The raw baseline for resumable uploads: each PATCH's body is written at its
 * offset in one file, hashed as it passes, and synced before the answer, as
 * the service does with each chunk, but with no protocol checks, sniffing,
 * limits or database. `PATCH /<name>` with `upload-offset` and `upload-length`.
 */
const dir = process.env.DATA_DIR!;
fs.mkdirSync(dir, { recursive: true });
const hashes = new Map<string, Hash>();

const server = http.createServer(async (req, res) => {
  const name = path.basename(req.url ?? 'x');
  const file = path.join(dir, `${name}.part`);
  let offset = Number(req.headers['upload-offset']);
  const length = Number(req.headers['upload-length']);
  const hash = hashes.get(name) ?? createHash('sha256');
  hashes.set(name, hash);
  const handle = await fsp.open(file, offset === 0 ? 'w' : 'r+');
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      await handle.write(chunk, 0, chunk.length, offset);
      hash.update(chunk);
      offset += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const headers: Record<string, string> = { 'upload-offset': String(offset) };
  if (offset === length) {
    headers['x-sha256'] = hash.digest('hex');
    hashes.delete(name);
    fs.rmSync(file, { force: true });
  }
  res.writeHead(204, headers);
  res.end();
});

serveBaseline(server);
