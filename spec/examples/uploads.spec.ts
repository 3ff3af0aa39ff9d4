import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startExample, type ServerProcess } from './demo-process.js';

/** Only what the functions below use; they run in the page, where the real `document` is. */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('examples/uploads.ts: an upload form in headless Chromium, files streamed to disk with progress', function () {
  this.timeout(90_000);
  let example: ServerProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let folder: string;
  const pageErrors: string[] = [];

  before(async () => {
    browser = await launchChromium();
    example = await startExample('uploads');
    folder = (await example.waitFor(/storing files in (\S+)/, 'its upload folder'))[1]!;
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(example.url, { waitUntil: 'load' });
  });

  after(async () => {
    await browser?.close();
    if (example !== undefined) expect(await example.stop('SIGTERM'), 'exit code after SIGTERM').to.equal(0);
  });

  it("uploads the browser's FormData, reports progress as SSE, and stores each file under a name of its own", async () => {
    const big = randomBytes(3 * MiB + 12_345);
    const note = Buffer.from('a small note\n');
    await page.fill('input[name=title]', 'holiday');
    await page.setInputFiles('input[name=files]', [
      { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: big },
      { name: '..%2F..%2Fnote.txt', mimeType: 'text/plain', buffer: note },
    ]);
    await page.click('button');
    const handle = await page.waitForFunction(() => {
      const text = document.querySelector('#log')?.textContent ?? '';
      return /done: |failed: /.test(text) ? text : false;
    });
    const log = String(await handle.jsonValue());
    expect(log).to.include('done: holiday');
    // A progress event for each MiB or so of the big file, as its bytes went to the disk.
    const progress = [...log.matchAll(/photo\.jpg: (\d+) bytes/g)].map((match) => Number(match[1]));
    expect(progress).to.have.length.of.at.least(2);
    expect(progress).to.deep.equal([...progress].sort((a, b) => a - b));
    expect(progress[0]).to.be.at.least(MiB);
    expect(log).to.include(`stored photo.jpg (${big.length} bytes)`);
    expect(log).to.include(`stored ..%2F..%2Fnote.txt (${note.length} bytes)`);

    const stored = await readdir(folder);
    expect(stored).to.have.lengthOf(2);
    for (const name of stored) expect(name).to.match(/^[0-9a-f-]{36}$/);
    const hashes = await Promise.all(stored.map(async (name) => sha256(await readFile(path.join(folder, name)))));
    expect(hashes).to.have.members([sha256(big), sha256(note)]);
    expect(pageErrors).to.deep.equal([]);
  });

  it('answers a form without a title with a 400 naming the field, and keeps none of its files', async () => {
    const before = await readdir(folder);
    const form = new FormData();
    form.append('files', new Blob(['x'.repeat(1000)]), 'orphan.txt');
    const res = await fetch(`${example!.url}/uploads/no-title`, { method: 'POST', body: form });
    expect([res.status, await res.text()]).to.deep.equal([400, 'Invalid form fields: title: Give the upload a title.']);
    expect(await readdir(folder)).to.have.members(before);
  });

  it('refuses an upload with too many files, and keeps none of those it had begun to store', async () => {
    const before = await readdir(folder);
    const form = new FormData();
    form.append('title', 'too many');
    for (let i = 0; i < 11; i += 1) form.append('files', new Blob([randomBytes(64 * 1024)]), `file-${i}.bin`);
    const res = await fetch(`${example!.url}/uploads/too-many`, { method: 'POST', body: form });
    expect(res.status).to.equal(413);
    await res.text();
    expect(await readdir(folder)).to.have.members(before);
  });
});
