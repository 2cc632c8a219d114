import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './helpers.ts';
import { spawnServer, stopProcess, type ServerProcess } from './server-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Written by the browser tests, git-ignored; docs/ holds the two that the README shows. */
export const SCREENSHOTS = path.join(ROOT, '.tmp', 'screenshots');

export const DESK = { name: 'desk', width: 1280, height: 800 } as const;
export const PHONE = { name: 'phone', width: 390, height: 844 } as const;
export type Viewport = typeof DESK | typeof PHONE;

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Debian's chromium: a test tool's own browser download cannot work on a closed network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ServerAndBrowser {
  server: ServerProcess;
  browser: Browser;
}

/**
 * One server process (on a data folder of its own) and one browser for all of a
 * test file's tests: registers the file's hooks, so call it at the top level.
 * The fields are set once beforeAll has run.
 */
export function serverAndBrowser(): ServerAndBrowser {
  const running = {} as ServerAndBrowser;
  beforeAll(async () => {
    running.server = await spawnServer(tempDir());
    running.browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await running.browser?.close();
    await stopProcess(running.server);
  });
  return running;
}

export interface Watched {
  page: Page;
  /** Every URL the page asked for: documents, scripts, XHR, fetch, WebSocket. */
  requests: string[];
  /** Console errors, uncaught exceptions and Content-Security-Policy refusals. */
  problems: string[];
}

/** A page whose every request and console error is recorded. */
export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => requests.push(ws.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { page, requests, problems };
}

/** Requests that left this machine's loopback address (blob: and data: never leave the page). */
export const offMachine = (requests: string[]) => requests.filter((u) => !/^(https?|wss?):\/\/127\.0\.0\.1(:\d+)?\//.test(u) && !/^(blob|data):/.test(u));

/** axe-core's audit of what the page shows now; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  // Printed in full, so a failure says which elements to fix.
  if (serious.length) console.error(JSON.stringify(serious, null, 1));
  return serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Polls until `check` holds (Playwright's own expect is not part of playwright-core). */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
