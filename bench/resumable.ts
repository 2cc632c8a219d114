import fs from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { spawnChild, sampleRss, type Child } from './lib/child.ts';
import { gql, MiB, REQUEST_EVIDENCE, serviceEnv, sleep, type BenchContext, type Figure } from './lib/common.ts';

const MP4_HEAD = fs.readFileSync(fileURLToPath(new URL('../test/fixtures/unboxing.mp4', import.meta.url)));
const SHOP = 'shop-tus';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A video the sniffer takes: a real MP4's first bytes, then a repeating pattern. */
function video(size: number, salt: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) bytes.writeUInt32LE((i * 2654435761 + salt) >>> 0, i);
  MP4_HEAD.copy(bytes, 0, 0, Math.min(MP4_HEAD.length, size));
  return bytes;
}

function request(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { ...headers, 'content-length': String(body?.length ?? 0) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function openRound(url: string, platform: string, i: number): Promise<string> {
  const number = `TUS${Date.now()}-${i}`;
  const recorded = await gql(url, platform, `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { ... on RecordAfterSalePayload { afterSale { id } } } }`, {
    input: { merchantId: SHOP, number, orderNumber: `OD-${number}`, type: 'REFUND_ONLY', reason: 'Damaged', buyerClaim: 'It arrived broken', amountCents: 100 },
  });
  const requested = await gql(url, platform, REQUEST_EVIDENCE, { input: { afterSaleId: recorded.recordAfterSale.afterSale.id, instructions: 'The unboxing video' } });
  return requested.requestEvidence.evidenceRequest.id as string;
}

/** One upload over tus in `chunk`-byte PATCHes; the last one must stage the file. */
async function tusUpload(url: string, token: string, round: string, bytes: Buffer, chunk: number): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const created = await request(`${url}/uploads`, 'POST', {
    'tus-resumable': '1.0.0',
    authorization: `Bearer ${token}`,
    'upload-length': String(bytes.length),
    'upload-metadata': `evidenceRequestId ${b64(round)},filename ${b64('unboxing.mp4')}`,
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
  const location = created.headers.location!;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const res = await request(location, 'PATCH', {
      'tus-resumable': '1.0.0',
      authorization: `Bearer ${token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    }, bytes.subarray(offset, offset + chunk));
    if (res.status !== 204) throw new Error(`PATCH answered ${res.status}`);
    if (offset + chunk >= bytes.length && !res.headers['evidence-file-id']) throw new Error('the last PATCH staged no file');
  }
}

async function rawUpload(url: string, name: string, bytes: Buffer, chunk: number): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const res = await request(`${url}/${name}`, 'PATCH', { 'upload-offset': String(offset), 'upload-length': String(bytes.length) }, bytes.subarray(offset, offset + chunk));
    if (res.status !== 204) throw new Error(`raw PATCH answered ${res.status}`);
  }
}

async function measure(child: Child, bytes: number, run: () => Promise<void>) {
  await child.request('memory');
  await sleep(200);
  const before = child.rss().now;
  child.resetPeak();
  const stopSampling = sampleRss(child);
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const peak = Math.max(stopSampling(), child.rss().peak);
  return { mibPerSecond: bytes / MiB / seconds, growthMiB: (peak - before) / MiB };
}

export async function resumable(ctx: BenchContext): Promise<Figure[]> {
  const size = ctx.quick ? 8 * MiB : 200 * MiB;
  const service = spawnChild('service.ts', serviceEnv(ctx, { dataDir: ctx.dir('tus-service'), env: {} }), 'service-tus');
  const raw = spawnChild('raw-tus.ts', { DATA_DIR: ctx.dir('tus-raw') }, 'raw-tus');
  try {
    const url = (await service.event<{ url: string }>('ready')).url;
    const rawUrl = (await raw.event<{ url: string }>('ready')).url;
    const merchant = await ctx.auth.sign({ role: 'merchant', sub: `${SHOP}-staff`, merchantId: SHOP });
    const platform = await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' });
    const rounds = await Promise.all([0, 1, 2].map((i) => openRound(url, platform, i)));
    await tusUpload(url, merchant, rounds[2]!, video(2 * MiB, 0), MiB);
    await rawUpload(rawUrl, 'warm', video(2 * MiB, 0), MiB);
    const figures: Figure[] = [];
    for (const [i, chunk] of [MiB, 8 * MiB].entries()) {
      const bytes = video(size, i + 1);
      const service_ = await measure(service, size, () => tusUpload(url, merchant, rounds[i]!, bytes, chunk));
      const raw_ = await measure(raw, size, () => rawUpload(rawUrl, `v${i}`, bytes, chunk));
      const label = `tus ${size / MiB} MiB MP4 in ${chunk / MiB} MiB chunks`;
      ctx.log(`${label}: service ${service_.mibPerSecond.toFixed(0)} MiB/s (+${service_.growthMiB.toFixed(1)} MiB RSS), raw ${raw_.mibPerSecond.toFixed(0)} MiB/s (+${raw_.growthMiB.toFixed(1)} MiB)`);
      const key = `resumable.chunk${chunk / MiB}`;
      figures.push(
        { key: `${key}.mibps`, label: `${label}: throughput`, value: service_.mibPerSecond, unit: 'MiB/s', baseline: raw_.mibPerSecond },
        { key: `${key}.ratio`, label: `${label}: throughput / raw baseline`, value: service_.mibPerSecond / raw_.mibPerSecond, unit: '×', target: { op: '>=', value: 0.5 } },
        { key: `${key}.rssGrowth`, label: `${label}: server peak RSS growth`, value: service_.growthMiB, unit: 'MiB', baseline: raw_.growthMiB, target: { op: '<', value: 64 } },
      );
    }
    return figures;
  } finally {
    await Promise.all([service.stop(), raw.stop()]);
  }
}
