import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnChild, sampleRss, type Child } from './lib/child.ts';
import { gql, MiB, pool, REQUEST_EVIDENCE, serviceEnv, sleep, type BenchContext, type Figure } from './lib/common.ts';
import { multipartBody, post, type GeneratedFile } from './lib/multipart.ts';

const MP4_HEAD = fs.readFileSync(fileURLToPath(new URL('../test/fixtures/unboxing.mp4', import.meta.url)));
const SHOP = 'shop-upload';

const SUBMIT = `mutation Submit($input: SubmitEvidenceInput!) {
  submitEvidence(input: $input) {
    __typename
    ... on Error { message }
    ... on SubmitEvidencePayload { submission { files { byteSize sha256 } } }
  }
}`;

/** Opens `n` rounds for the upload shop through the platform's API; returns their ids. */
async function openRounds(url: string, platform: string, n: number): Promise<string[]> {
  return pool(Array.from({ length: n }, (_, i) => i), 4, async (i) => {
    const number = `UP${Date.now()}-${i}`;
    const recorded = await gql(url, platform, `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { ... on RecordAfterSalePayload { afterSale { id } } } }`, {
      input: { merchantId: SHOP, number, orderNumber: `OD-${number}`, type: 'REFUND_ONLY', reason: 'Damaged', buyerClaim: 'It arrived broken', amountCents: 100 },
    });
    const requested = await gql(url, platform, REQUEST_EVIDENCE, {
      input: { afterSaleId: recorded.recordAfterSale.afterSale.id, instructions: 'An unboxing video, please' },
    });
    return requested.requestEvidence.evidenceRequest.id as string;
  });
}

interface Upload {
  round: string | null;
  size: number;
  salt: number;
}

/** One submission with one video, streamed; the service must accept it. */
async function upload(url: string, token: string | null, u: Upload): Promise<number> {
  const file: GeneratedFile = { name: `unboxing-${u.salt}.mp4`, type: 'video/mp4', head: MP4_HEAD, size: u.size, salt: u.salt };
  const body = multipartBody(SUBMIT, { input: { evidenceRequestId: u.round, explanation: 'We shipped it intact; see the video.', files: [null] } }, 'input.files', [file]);
  const headers = {
    'content-type': body.contentType,
    'content-length': body.length,
    'apollo-require-preflight': 'true',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const res = await post(`${url}/graphql`, headers, body.stream());
  if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${res.text.slice(0, 300)}`);
  if (u.round) {
    const result = JSON.parse(res.text).data?.submitEvidence;
    if (result?.__typename !== 'SubmitEvidencePayload' || result.submission.files[0].byteSize !== u.size) {
      throw new Error(`upload refused: ${res.text.slice(0, 300)}`);
    }
  }
  return body.length;
}

/** Runs the uploads at once; returns throughput over all of them and the child's peak RSS growth. */
async function measure(child: Child, url: string, token: string | null, uploads: Upload[]) {
  await child.request('memory');
  await sleep(200);
  const before = child.rss().now;
  child.resetPeak();
  const stopSampling = sampleRss(child);
  const started = performance.now();
  const bytes = (await Promise.all(uploads.map((u) => upload(url, token, u)))).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - started) / 1000;
  const sampled = stopSampling();
  const peak = Math.max(sampled, child.rss().peak);
  return { mibPerSecond: bytes / MiB / seconds, growthMiB: (peak - before) / MiB };
}

type Measured = Awaited<ReturnType<typeof measure>>;

/** Uploads of one size measured one after another, as one: throughput over their whole time, the highest RSS growth. */
function overall(runs: Measured[]): Measured {
  const seconds = runs.reduce((t, r) => t + 1 / r.mibPerSecond, 0);
  return { mibPerSecond: runs.length / seconds, growthMiB: Math.max(...runs.map((r) => r.growthMiB)) };
}

export async function uploads(ctx: BenchContext): Promise<Figure[]> {
  const big = ctx.quick ? 8 * MiB : 200 * MiB;
  const concurrent = ctx.quick ? 4 : 20;
  const each = ctx.quick ? 2 * MiB : 25 * MiB;
  const env = serviceEnv(ctx, await ctx.store('upload-service'), {});
  const service = spawnChild('service.ts', env, 'service-upload');
  const raw = spawnChild('raw-upload.ts', { DATA_DIR: ctx.dir('upload-raw') }, 'raw-upload');
  try {
    const url = (await service.event<{ url: string }>('ready')).url;
    const rawUrl = (await raw.event<{ url: string }>('ready')).url;
    const merchant = await ctx.auth.sign({ role: 'merchant', sub: `${SHOP}-staff`, merchantId: SHOP });
    // The single upload is measured in turns, service and raw baseline in the order S R R S: one upload
    // takes about a second, and a shared host's speed changes from one second to the next.
    const turns = ctx.quick ? 1 : 2;
    const rounds = await openRounds(url, await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' }), 1 + turns + concurrent);
    let salt = 1;
    // Warm both: module loading and JIT are not what we measure.
    await upload(url, merchant, { round: rounds.pop()!, size: MiB, salt: salt++ });
    await upload(rawUrl, null, { round: null, size: MiB, salt: salt++ });

    const ones: Measured[] = [];
    const rawOnes: Measured[] = [];
    for (let i = 0; i < turns; i++) {
      const serviceTurn = () => measure(service, url, merchant, [{ round: rounds.pop()!, size: big, salt: salt++ }]);
      const rawTurn = () => measure(raw, rawUrl, null, [{ round: null, size: big, salt: salt++ }]);
      if (i % 2 === 0) ones.push(await serviceTurn()), rawOnes.push(await rawTurn());
      else rawOnes.push(await rawTurn()), ones.push(await serviceTurn());
    }
    const one = overall(ones);
    const rawOne = overall(rawOnes);
    const many = await measure(service, url, merchant, rounds.map((round) => ({ round, size: each, salt: salt++ })));
    const rawMany = await measure(raw, rawUrl, null, rounds.map(() => ({ round: null, size: each, salt: salt++ })));
    ctx.log(`one ${big / MiB} MiB: service ${one.mibPerSecond.toFixed(0)} MiB/s (+${one.growthMiB.toFixed(1)} MiB RSS), raw ${rawOne.mibPerSecond.toFixed(0)} MiB/s (+${rawOne.growthMiB.toFixed(1)} MiB)`);
    ctx.log(`${concurrent} × ${each / MiB} MiB: service ${many.mibPerSecond.toFixed(0)} MiB/s (+${many.growthMiB.toFixed(1)} MiB RSS), raw ${rawMany.mibPerSecond.toFixed(0)} MiB/s (+${rawMany.growthMiB.toFixed(1)} MiB)`);
    return [
      { key: 'upload.mibps', label: `Upload ${big / MiB} MiB MP4: throughput`, value: one.mibPerSecond, unit: 'MiB/s', baseline: rawOne.mibPerSecond },
      { key: 'upload.ratio', label: `Upload ${big / MiB} MiB MP4: throughput / raw baseline`, value: one.mibPerSecond / rawOne.mibPerSecond, unit: '×', target: { op: '>=', value: 0.6 } },
      { key: 'upload.rssGrowth', label: `Upload ${big / MiB} MiB MP4: server peak RSS growth`, value: one.growthMiB, unit: 'MiB', baseline: rawOne.growthMiB, target: { op: '<', value: 64 } },
      { key: 'upload.concurrentMibps', label: `${concurrent} concurrent ${each / MiB} MiB uploads: throughput`, value: many.mibPerSecond, unit: 'MiB/s', baseline: rawMany.mibPerSecond },
      { key: 'upload.concurrentRssGrowth', label: `${concurrent} concurrent ${each / MiB} MiB uploads: server peak RSS growth`, value: many.growthMiB, unit: 'MiB', baseline: rawMany.growthMiB, target: { op: '<', value: 128 } },
    ];
  } finally {
    await Promise.all([service.stop(), raw.stop()]);
  }
}
