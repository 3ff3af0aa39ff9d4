import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { fetchText } from '../helpers.js';
import { launchChromium } from './chromium.js';
import { startExample, type ServerProcess } from './demo-process.js';

/** Only what the functions below use; they run in the page, where the real `document` is. */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** Waits (bounded) until the text of `selector` includes `needle`. */
async function seen(page: Page, selector: string, needle: string): Promise<void> {
  await page.waitForFunction(
    ({ selector, needle }) => (document.querySelector(selector)?.textContent ?? '').includes(needle),
    { selector, needle },
    { timeout: 10_000 },
  );
}

/** Reads a whole response as bytes, with the request headers given. */
function fetchBytes(
  url: string,
  headers: Record<string, string>,
): Promise<{ res: http.IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('the example service (examples/service.ts)', function () {
  this.timeout(60_000);
  let service: ServerProcess;
  let other: http.Server;
  let otherOrigin: string;
  let browser: Browser;

  before(async () => {
    // Another origin's front end, to call the API across origins as a browser does.
    other = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>');
    });
    other.listen(0, '127.0.0.1');
    await new Promise((resolve) => other.once('listening', resolve));
    otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    [service, browser] = await Promise.all([
      startExample('service', { env: { ALLOWED_ORIGIN: otherOrigin } }),
      launchChromium(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    other?.close();
  });

  it('serves its front end, where notes added in the form appear in the list and the live feed', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(service.url, { waitUntil: 'load' });
    await page.fill('#text', 'buy oat milk');
    await page.click('#add button');
    await seen(page, '#notes', 'buy oat milk');
    await seen(page, '#feed', 'note: buy oat milk');
    // An empty note is refused by the schema, and the page shows the issue.
    await page.fill('#text', '   ');
    await page.click('#add button');
    await seen(page, '#problem', 'A note needs some text.');
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it('lets members of the room hear each other over WebSockets', async () => {
    const [ann, bob] = await Promise.all([browser.newPage(), browser.newPage()]);
    await Promise.all([ann.goto(service.url), bob.goto(service.url)]);
    await Promise.all([seen(ann, '#room', 'welcome'), seen(bob, '#room', 'welcome')]);
    await ann.fill('#line', 'hello from ann');
    await ann.click('#say button');
    await seen(bob, '#room', ': hello from ann');
    await Promise.all([ann.close(), bob.close()]);
  });

  it('answers another origin it allows, from a page there', async () => {
    const page = await browser.newPage();
    await page.goto(otherOrigin);
    const result = await page.evaluate(async (api) => {
      const res = await fetch(`${api}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'from elsewhere' }),
      });
      return { status: res.status, text: ((await res.json()) as { text: string }).text };
    }, service.url);
    expect(result).to.deep.equal({ status: 201, text: 'from elsewhere' });
    await page.close();
  });

  it('gives every answer a request id, errors as problem+json, and compresses what is worth it', async () => {
    const missing = await fetchText(`${service.url}/api/notes/nope`);
    expect(missing.status).to.equal(404);
    expect(missing.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(missing.body)).to.deep.include({ status: 404, detail: 'There is no note nope.' });
    expect(missing.headers['x-request-id']).to.be.a('string');
    const script = await fetchBytes(`${service.url}/app.js`, { 'accept-encoding': 'gzip' });
    expect(script.res.headers['content-encoding']).to.equal('gzip');
    expect(gunzipSync(script.body).toString()).to.include('new EventSource');
    const search = await fetchText(`${service.url}/api/notes?q=${'x'.repeat(101)}`);
    expect(search.status).to.equal(400);
    await service.waitFor(/"path":"\/api\/notes\/nope","status":404/, 'the request log line of the 404');
  });

  it('closes and exits with 0 on SIGTERM', async () => {
    expect(await service.stop('SIGTERM')).to.equal(0);
  });
});
