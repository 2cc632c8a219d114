import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { DESK, offMachine, PHONE, screenshot, serverAndBrowser, seriousViolations, until, watchedPage, type Watched } from './browser.ts';
import { fixture, openCase } from './helpers.ts';
import { tcpProxy } from './tcp-proxy.ts';

const suite = serverAndBrowser();

const DETAIL = `query($id: ID!) { afterSale(id: $id) { status evidenceRequest { status submission { files { fileName sha256 } } } } }`;
const REQUEST = `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) { __typename } }`;

for (const viewport of [DESK, PHONE]) {
  describe(`the merchant workbench at ${viewport.name} size (${viewport.width}×${viewport.height})`, () => {
    const shop = `shop-web-${viewport.name}`;
    let context: BrowserContext;
    let w: Watched;
    let page: Page;
    let cases: { afterSaleId: string; number: string; requestId: string | null }[];

    beforeAll(async () => {
      cases = [];
      for (let i = 0; i < 3; i++) cases.push(await openCase(suite.server, shop, { number: `AS-${viewport.name.toUpperCase()}-${i + 1}` }));
      context = await suite.browser.newContext({ viewport: { width: viewport.width, height: viewport.height }, locale: 'zh-CN' });
      w = await watchedPage(context);
      page = w.page;
    });
    afterAll(() => context?.close());

    it('signs in with a token kept in sessionStorage only, under a strict Content-Security-Policy', async () => {
      const response = await page.goto(`${suite.server.url}/`);
      const csp = response!.headers()['content-security-policy']!;
      expect(csp).toMatch(/script-src 'self'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `merchant-sign-in-${viewport.name}`);
      const token = await suite.server.merchantToken(shop);
      await page.getByRole('textbox', { name: 'Token' }).or(page.getByLabel('Token')).fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('list', { name: 'Awaiting evidence' }).getByRole('button', { name: cases[0]!.number }).waitFor();
      expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(token);
      expect(await page.evaluate(() => Object.values(localStorage))).toEqual([]);
      expect(page.url()).not.toContain(token);
      expect(w.requests.some((u) => u.includes(token))).toBe(false);
    });

    it('lists the awaiting after-sales nearest deadline first, each with a countdown to the second', async () => {
      const list = page.getByRole('list', { name: 'Awaiting evidence' });
      const rows = list.getByRole('listitem');
      await until(async () => (await rows.count()) === 3, 'three rows');
      const numbers = await list.locator('.row-number').allTextContents();
      expect(numbers).toEqual(cases.map((c) => c.number));
      const timer = rows.first().getByRole('timer');
      const before = await timer.textContent();
      expect(before).toMatch(/^(\d+d )?\d\d:\d\d:\d\d$/);
      await until(async () => (await timer.textContent()) !== before, 'the countdown to tick');
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `merchant-list-${viewport.name}`);
    });

    it('filters by number with the Search box', async () => {
      const list = page.getByRole('list', { name: 'Awaiting evidence' });
      await page.getByRole('searchbox', { name: 'Search' }).fill(cases[1]!.number);
      await until(async () => (await list.getByRole('listitem').count()) === 1, 'one row');
      expect(await list.locator('.row-number').allTextContents()).toEqual([cases[1]!.number]);
    });

    it('opens the detail with the instructions, and refuses a spoofed file with an alert naming it', async () => {
      await page.getByRole('button', { name: cases[1]!.number }).click();
      await page.getByText('Send photos of the parcel and the waybill').waitFor();
      await page.getByRole('textbox', { name: 'Explanation' }).fill('Shipped intact: see the photo and the unboxing video');
      await page.getByLabel('Evidence files').setInputFiles(fixture('spoofed-html.png'));
      await page.getByRole('button', { name: 'Submit evidence' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'spoofed-html.png' });
      await alert.waitFor();
      const stored = await suite.server.gql(await suite.server.platformToken(), DETAIL, { id: cases[1]!.afterSaleId });
      expect(stored.data.afterSale).toMatchObject({ status: 'AWAITING_MERCHANT_EVIDENCE', evidenceRequest: { status: 'OPEN', submission: null } });
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByRole('button', { name: 'Remove spoofed-html.png' }).click();
    });

    it('uploads two real files with a progress bar per file, and the log then names them', async () => {
      await page.getByLabel('Evidence files').setInputFiles([fixture('parcel-photo.jpg'), fixture('unboxing.mov')]);
      // A thumbnail of the picked image, from the file itself.
      await until(async () => (await page.locator('img.thumb').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)), 'the thumbnail');
      await screenshot(page, `merchant-detail-${viewport.name}`);
      // A slow uplink, so the bars are seen moving: about 77 KB at 24 KB/s.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 24 * 1024 });
      await page.getByRole('button', { name: 'Submit evidence' }).click();
      const bars = page.getByRole('progressbar');
      await bars.first().waitFor();
      expect(await bars.count()).toBe(2);
      const seen = new Set<string>();
      while ((await bars.count()) > 0) {
        const values = await bars.evaluateAll((els) => els.map((e) => (e as HTMLProgressElement).value.toFixed(2)));
        values.forEach((v) => seen.add(v));
        await new Promise((r) => setTimeout(r, 100));
      }
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      expect([...seen].some((v) => Number(v) > 0 && Number(v) < 1)).toBe(true);
      const log = page.getByRole('region', { name: 'After-sale log' });
      await until(async () => /parcel-photo\.jpg/.test((await log.textContent()) ?? '') && /unboxing\.mov/.test((await log.textContent()) ?? ''), 'the log to name both files');
      const stored = await suite.server.gql(await suite.server.platformToken(), DETAIL, { id: cases[1]!.afterSaleId });
      expect(stored.data.afterSale.status).toBe('EVIDENCE_SUBMITTED');
      expect(stored.data.afterSale.evidenceRequest.submission.files.map((f: any) => f.fileName)).toEqual(['parcel-photo.jpg', 'unboxing.mov']);
      expect(await seriousViolations(page)).toEqual([]);
    });

    it('shows a new request in the message box live, without a reload, and marks it read', async () => {
      const messages = page.getByRole('button', { name: /Messages/ });
      const count = async () => Number(/(\d+)/.exec((await messages.textContent()) ?? '')?.[1]);
      await until(async () => (await count()) === 3, 'three unread messages');
      const fresh = await openCase(suite.server, shop, { number: `AS-${viewport.name.toUpperCase()}-LIVE`, request: false });
      const asked = await suite.server.gql(await suite.server.platformToken(), REQUEST, { input: { afterSaleId: fresh.afterSaleId, instructions: 'Please send the unboxing video' } });
      expect(asked.data.requestEvidence.__typename).toBe('RequestEvidencePayload');
      await until(async () => (await count()) === 4, 'the unread count to reach 4 live');
      await messages.click();
      const box = page.getByRole('complementary', { name: 'Message box' });
      await box.getByText(fresh.number).first().waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `merchant-messages-${viewport.name}`);
      await box.getByRole('button', { name: 'Mark all read' }).click();
      await until(async () => (await count()) === 0, 'the unread count to drop to 0');
      const unread = await suite.server.gql(await suite.server.merchantToken(shop), '{ unreadMessageCount }');
      expect(unread.data.unreadMessageCount).toBe(0);
      await box.getByRole('button', { name: 'Close' }).click();
      // The new after-sale is in the list too, without a reload.
      if (viewport === PHONE) await page.getByRole('button', { name: 'Back to the list' }).click();
      await page.getByRole('searchbox', { name: 'Search' }).fill('');
      await page.getByRole('list', { name: 'Awaiting evidence' }).getByRole('button', { name: fresh.number }).waitFor();
    });

    it('shows nothing of this shop to the next sign-in in the same tab', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([]);
      await page.getByLabel('Token').fill(await suite.server.merchantToken('shop-web-other'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Nothing is awaiting evidence.').waitFor();
      expect(await page.getByRole('list', { name: 'Awaiting evidence' }).getByRole('listitem').count()).toBe(0);
    });

    it('made no request off this machine and logged no error or CSP refusal', () => {
      expect(offMachine(w.requests)).toEqual([]);
      expect(w.problems).toEqual([]);
    });
  });
}

describe('the message box over a connection that drops', () => {
  it('replays, once the socket is back, a message sent while it was down, with no reload', async () => {
    const shop = 'shop-web-away';
    const proxy = await tcpProxy(Number(new URL(suite.server.url).port));
    const context = await suite.browser.newContext({ viewport: { width: DESK.width, height: DESK.height } });
    const w = await watchedPage(context);
    try {
      await w.page.goto(`http://127.0.0.1:${proxy.port}/`);
      await w.page.getByLabel('Token').fill(await suite.server.merchantToken(shop));
      await w.page.getByRole('button', { name: 'Sign in' }).click();
      await w.page.getByText('Nothing is awaiting evidence.').waitFor();
      const sockets = () => w.requests.filter((u) => u.startsWith('ws:')).length;
      await until(() => sockets() === 1, 'the socket');
      await new Promise((r) => setTimeout(r, 300));
      proxy.drop();
      const away = await openCase(suite.server, shop, { number: 'AS-AWAY-1', request: false });
      await suite.server.gql(await suite.server.platformToken(), REQUEST, { input: { afterSaleId: away.afterSaleId, instructions: 'Sent while you were away' } });
      await new Promise((r) => setTimeout(r, 500));
      proxy.resume();
      const messages = w.page.getByRole('button', { name: /Messages/ });
      await until(async () => /\b1\b/.test((await messages.textContent()) ?? ''), 'the missed message to be counted', 20_000);
      await w.page.getByRole('list', { name: 'Awaiting evidence' }).getByRole('button', { name: 'AS-AWAY-1' }).waitFor();
      expect(sockets()).toBeGreaterThan(1);
    } finally {
      await context.close();
      proxy.close();
    }
  });
});
