import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { DESK, offMachine, PHONE, screenshot, serverAndBrowser, seriousViolations, until, watchedPage, type Watched } from './browser.ts';
import { fixture, openCase, submitEvidence, tempDir } from './helpers.ts';
import { PROCESS_SECRET, spawnServer, stopProcess, type ServerProcess } from './server-process.ts';

const suite = serverAndBrowser();

const BY_NUMBER = `query($n: String!) { afterSaleByNumber(number: $n) { id merchantId: orderNumber type reason buyerClaim amountCents status
  evidenceRequest { id status instructions } resolution { outcome decidedBy opinion } } }`;

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

for (const viewport of [DESK, PHONE]) {
  describe(`the platform console at ${viewport.name} size (${viewport.width}×${viewport.height})`, () => {
    const number = `AS-P-${viewport.name.toUpperCase()}`;
    let context: BrowserContext;
    let w: Watched;
    let page: Page;

    beforeAll(async () => {
      context = await suite.browser.newContext({ viewport: { width: viewport.width, height: viewport.height }, locale: 'zh-CN' });
      w = await watchedPage(context);
      page = w.page;
    });
    afterAll(() => context?.close());

    const stored = async () => (await suite.server.gql(await suite.server.platformToken(), BY_NUMBER, { n: number })).data.afterSaleByNumber;

    it('records an after-sale through its form', async () => {
      const response = await page.goto(`${suite.server.url}/platform`);
      expect(response!.headers()['content-security-policy']).not.toMatch(/unsafe-inline/);
      await signIn(page, await suite.server.platformToken('agent-web'));
      const form = page.getByRole('form', { name: 'Record an after-sale' });
      await form.getByLabel('Merchant').fill('shop-console');
      await form.getByRole('textbox', { name: 'Number', exact: true }).fill(number);
      await form.getByLabel('Order number').fill(`OD-${number}`);
      await form.getByLabel('Type').selectOption('RETURN_AND_REFUND');
      await form.getByLabel('Reason').fill('与描述不符 Not as described');
      await form.getByLabel('Buyer claim').fill('颜色不对。The colour is wrong.');
      await form.getByLabel('Amount (cents)').fill('15900');
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `platform-record-${viewport.name}`);
      await page.getByRole('button', { name: 'Record after-sale' }).click();
      await page.getByRole('status').filter({ hasText: number }).waitFor();
      expect(await stored()).toMatchObject({ type: 'RETURN_AND_REFUND', reason: '与描述不符 Not as described', amountCents: 15900, status: 'PLATFORM_INTERVENING' });
    });

    it('requests evidence with instructions, and cancels the round', async () => {
      await page.getByLabel('After-sale number').fill(number);
      await page.getByLabel('Instructions').fill('请提供发货前的照片 Photos before shipping, please');
      await page.getByRole('button', { name: 'Request evidence' }).click();
      await page.getByRole('status').filter({ hasText: 'Evidence requested' }).waitFor();
      expect((await stored()).evidenceRequest).toMatchObject({ status: 'OPEN', instructions: '请提供发货前的照片 Photos before shipping, please' });
      await page.getByRole('button', { name: 'Cancel evidence request' }).click();
      await page.getByRole('status').filter({ hasText: 'cancelled' }).waitFor();
      expect(await stored()).toMatchObject({ status: 'PLATFORM_INTERVENING', evidenceRequest: { status: 'CANCELLED' } });
    });

    it("shows the merchant's evidence: the image drawn, the video playable and seekable through its link", async () => {
      await page.getByLabel('Instructions').fill('再次举证 Once more, with the unboxing video');
      await page.getByRole('button', { name: 'Request evidence' }).click();
      await until(async () => (await stored()).evidenceRequest.status === 'OPEN', 'the new round');
      const round = (await stored()).evidenceRequest.id;
      const sent = await submitEvidence(suite.server, await suite.server.merchantToken('shop-console'), { evidenceRequestId: round, explanation: 'Shipped intact' }, [
        { content: fixture('parcel-photo.jpg'), name: 'parcel-photo.jpg' },
        { content: fixture('unboxing.mp4'), name: 'unboxing.mp4' },
      ]);
      expect(sent.body.data.submitEvidence.__typename).toBe('SubmitEvidencePayload');
      // The console hears of the submission live, without a reload.
      const image = page.getByRole('img', { name: 'parcel-photo.jpg' });
      await image.scrollIntoViewIfNeeded();
      await until(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 640), 'the photo to load');
      const video = page.locator('video[aria-label="unboxing.mp4"]');
      await video.scrollIntoViewIfNeeded();
      await until(() => video.evaluate((v: HTMLVideoElement) => v.readyState >= 1 && v.duration > 2), 'the video metadata');
      const seeked = await video.evaluate(
        (v: HTMLVideoElement) =>
          new Promise<number>((resolve) => {
            v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
            v.currentTime = 2;
          }),
      );
      expect(seeked).toBeCloseTo(2, 0);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `platform-evidence-${viewport.name}`);
    });

    it('rules on the after-sale with an outcome and an opinion', async () => {
      await page.getByLabel('Outcome').selectOption('MERCHANT_FAVORED');
      await page.getByLabel('Opinion').fill('商家举证充分 The evidence is convincing');
      await page.getByRole('button', { name: 'Resolve arbitration' }).click();
      await page.getByRole('status').filter({ hasText: 'resolved' }).waitFor();
      expect(await stored()).toMatchObject({
        status: 'RESOLVED',
        resolution: { outcome: 'MERCHANT_FAVORED', decidedBy: 'PLATFORM', opinion: '商家举证充分 The evidence is convincing' },
      });
      // A second ruling is refused with the server's typed answer, shown as an alert.
      await page.getByRole('button', { name: 'Resolve arbitration' }).click();
      await page.getByRole('alert').waitFor();
    });

    it('made no request off this machine and logged no error or CSP refusal', () => {
      expect(offMachine(w.requests)).toEqual([]);
      expect(w.problems).toEqual([]);
    });
  });
}

describe('GraphiQL', () => {
  it('runs a query with every asset from this server: no request leaves 127.0.0.1', async () => {
    const context = await suite.browser.newContext({ viewport: { width: DESK.width, height: DESK.height } });
    const w = await watchedPage(context);
    await w.page.goto(`${suite.server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    await w.page.getByRole('button', { name: /Execute query/ }).click();
    await until(async () => /"__typename":\s*"Query"/.test((await w.page.locator('.graphiql-response').textContent()) ?? ''), 'the answer');
    await screenshot(w.page, 'graphiql-desk');
    expect(w.requests.length).toBeGreaterThan(1);
    expect(offMachine(w.requests)).toEqual([]);
    await context.close();
  });
});

describe('in production (NODE_ENV=production)', () => {
  let prod: ServerProcess;
  beforeAll(async () => {
    prod = await spawnServer(tempDir(), { NODE_ENV: 'production', AUTH_SECRET: PROCESS_SECRET });
  });
  afterAll(() => stopProcess(prod));

  it('still serves the pages, which work, but not GraphiQL and no demo sessions', async () => {
    const graphiql = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).not.toMatch(/GraphiQL/i);
    expect(await (await fetch(`${prod.url}/demo-sessions.json`)).json()).toEqual([]);
    const { number } = await openCase(prod, 'shop-prod');
    const context = await suite.browser.newContext({ viewport: { width: PHONE.width, height: PHONE.height } });
    const w = await watchedPage(context);
    const response = await w.page.goto(`${prod.url}/`);
    expect(response!.status()).toBe(200);
    await signIn(w.page, await prod.merchantToken('shop-prod'));
    await w.page.getByRole('list', { name: 'Awaiting evidence' }).getByRole('button', { name: number }).waitFor();
    expect((await w.page.goto(`${prod.url}/platform`))!.status()).toBe(200);
    await w.page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(w.problems).toEqual([]);
    await context.close();
  });
});
