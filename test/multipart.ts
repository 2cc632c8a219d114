import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export interface Part {
  name: string;
  /** Present for file parts. */
  filename?: string;
  type?: string;
  data: Buffer | string;
}

/** A multipart/form-data body built by hand, so a test can send what no well-behaved client would. */
export function multipartBody(parts: Part[]): { boundary: string; body: Buffer; contentType: string } {
  const boundary = `----hostile${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = part.filename === undefined
      ? `form-data; name="${part.name}"`
      : `form-data; name="${part.name}"; filename="${part.filename}"`;
    const type = part.filename === undefined ? '' : `Content-Type: ${part.type ?? 'application/octet-stream'}\r\n`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The operations and map fields of a submitEvidence request with `count` files. */
export function submitFields(query: string, input: Record<string, unknown>, count: number): Part[] {
  return [
    { name: 'operations', data: JSON.stringify({ query, variables: { input: { ...input, files: Array(count).fill(null) } } }) },
    { name: 'map', data: JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i + 1), [`variables.input.files.${i}`]]))) },
  ];
}

export interface RawAnswer {
  status: number;
  body: string;
}

/** Posts a body with node:http; resolves with the answer even if the server answers before reading it all. */
export function post(url: string, headers: Record<string, string>, body: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, { method: 'POST', headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    // The server may close its side once it has answered; that is not a failure of the answer.
    req.on('error', (error) => reject(error));
    req.end(body);
  });
}

/** Opens a raw socket to the server and writes the request head and the given bytes, nothing more. */
export function openRaw(url: string, head: Record<string, string>, first: Buffer): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      const lines = [`POST /graphql HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(head).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      socket.write(first, () => resolve(socket));
    });
    socket.on('error', reject);
  });
}

/** Everything the server sends on a raw socket until it closes it. */
export function readUntilClosed(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

export interface StreamedUpload {
  /** The server's answer; rejects if the connection dies first. */
  answer: Promise<RawAnswer>;
  /** Bytes handed to the socket so far. */
  sent(): number;
  /** Stops sending without ending the request, as a client on a dead network would. */
  stall(): void;
  /** Goes on sending after a stall. */
  resume(): void;
}

/**
 * Posts `body` a slice at a time (`chunk` bytes every `everyMs`), so a test can
 * act on the server while the upload is in flight.
 */
export function streamUpload(url: string, headers: Record<string, string>, body: Buffer, pace: { chunk: number; everyMs: number }): StreamedUpload {
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const req = http.request(`${url}/graphql`, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } });
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
  });
  // A test that crashes the server expects this to fail; it still may await it.
  answer.catch(() => undefined);
  const send = () => {
    const slice = body.subarray(sent, sent + pace.chunk);
    sent += slice.length;
    if (sent >= body.length) {
      clearInterval(timer);
      req.end(slice);
    } else req.write(slice);
  };
  timer = setInterval(send, pace.everyMs);
  return {
    answer,
    sent: () => sent,
    stall: () => clearInterval(timer),
    resume: () => {
      clearInterval(timer);
      timer = setInterval(send, pace.everyMs);
    },
  };
}
