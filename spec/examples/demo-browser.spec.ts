import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startDemo, type DemoProcess } from './demo-process.js';

/** Only what the functions below use; they run in the page, where the real `document` is. */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** Waits (bounded) until the text of `selector` includes `needle`, and resolves with the text at that moment. */
async function textWhenIncludes(page: Page, selector: string, needle: string, timeout = 10_000): Promise<string> {
  const handle = await page.waitForFunction(
    ({ selector, needle }) => {
      const text = document.querySelector(selector)?.textContent ?? '';
      return text.includes(needle) ? text : false;
    },
    { selector, needle },
    { timeout },
  );
  const text = await handle.jsonValue();
  await handle.dispose();
  return String(text);
}

/** Waits (bounded) until the text of `selector` matches the regular expression `pattern`, and resolves with it. */
async function textWhenMatches(page: Page, selector: string, pattern: string, timeout = 10_000): Promise<string> {
  const handle = await page.waitForFunction(
    ({ selector, pattern }) => {
      const text = document.querySelector(selector)?.textContent ?? '';
      return new RegExp(pattern).test(text) ? text : false;
    },
    { selector, pattern },
    { timeout },
  );
  const text = await handle.jsonValue();
  await handle.dispose();
  return String(text);
}

describe('the demo page in headless Chromium', function () {
  this.timeout(60_000);
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;
  let shots: string | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    browser = await launchChromium();
    demo = await startDemo();
    url = demo.url;

    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url, { waitUntil: 'load' });
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
    if (shots !== undefined) await rm(shots, { recursive: true, force: true });
  });

  it('loads the page and shows its title', async () => {
    expect(await page.title()).to.equal('rxjet demo');
    expect(await page.locator('h1').textContent()).to.equal('rxjet demo');
    await page.locator('#start').waitFor({ state: 'visible' });
    expect(pageErrors).to.deep.equal([]);
  });

  it('shows the stream growing while it runs after Start is clicked', async () => {
    await page.locator('#start').click();
    const early = await textWhenIncludes(page, '#out', 'tick 0');
    expect(early).to.match(/^tick 0\n/);
    expect(early).not.to.include('tick 2');
    expect(early).not.to.include('(done)');

    const later = await textWhenIncludes(page, '#out', 'tick 2');
    expect(later.startsWith(early)).to.equal(true, `${JSON.stringify(later)} should extend ${JSON.stringify(early)}`);
    expect(later.length).to.be.greaterThan(early.length);
    expect(later).to.match(/^tick 0\ntick 1\ntick 2\n/);
    expect(later).not.to.include('(done)');
    expect(pageErrors).to.deep.equal([]);
  });

  it('sends a chat message over the WebSocket and shows it coming back in the log', async () => {
    const welcome = await textWhenIncludes(page, '#log', 'welcome to the rxjet chat');
    expect(welcome).to.equal('welcome to the rxjet chat\n');

    const message = `hello from chromium ${process.pid}-${Date.now()}`;
    await page.locator('#say').fill(message);
    await page.locator('#chat button').click();
    const log = await textWhenIncludes(page, '#log', message);
    expect(log.split('\n')).to.deep.equal(['welcome to the rxjet chat', message, '']);
    expect(await page.locator('#say').inputValue()).to.equal('');
    expect(pageErrors).to.deep.equal([]);
  });

  it('shows the Server-Sent Events clock ticking', async () => {
    const time = /^\d\d:\d\d:\d\d UTC$/;
    const first = await textWhenMatches(page, '#clock', time.source);
    const handle = await page.waitForFunction(
      ({ first }) => {
        const text = document.querySelector('#clock')?.textContent ?? '';
        return text !== first ? text : false;
      },
      { first },
      { timeout: 10_000 },
    );
    const second = String(await handle.jsonValue());
    await handle.dispose();
    expect(second).to.match(time);
    expect(second).not.to.equal(first);
    expect(pageErrors).to.deep.equal([]);
  });

  it('saves a screenshot of the page to a temporary directory', async () => {
    shots = await mkdtemp(path.join(tmpdir(), 'rxjet-demo-browser-'));
    const file = path.join(shots, 'demo.png');
    await page.screenshot({ path: file, fullPage: true });
    expect((await stat(file)).size).to.be.greaterThan(0);
    const png = await readFile(file);
    expect(png.subarray(0, 8).toString('hex')).to.equal('89504e470d0a1a0a');
  });
});
