import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

// The browser specs use the headless Chromium that the npm package @sparticuz/chromium ships
// inside itself (brotli-compressed), so `npm ci` is the whole set-up: no system browser, no
// download. The package also carries the NSS libraries Chromium links against (a base Debian
// has none); they are unpacked beside the binary and put first on the browser's library path.

const unbrotli = promisify(brotliDecompress);

/** Where @sparticuz/chromium is installed, and its version. */
function chromiumPackage(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const dir = path.resolve(path.dirname(require.resolve('@sparticuz/chromium')), '..');
  const { version } = require(path.join(dir, 'package.json')) as { version: string };
  return { dir, version };
}

/** Writes the regular files of an (uncompressed, ustar) tar archive under `into`. */
async function untar(archive: Buffer, into: string): Promise<void> {
  const field = (at: number, length: number): string =>
    archive.toString('latin1', at, at + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= archive.length;) {
    const name = field(at + 345, 155) === '' ? field(at, 100) : `${field(at + 345, 155)}/${field(at, 100)}`;
    if (name === '') break;
    const size = Number.parseInt(field(at + 124, 12).trim() || '0', 8);
    const type = field(at + 156, 1);
    const target = path.resolve(into, name);
    if (!target.startsWith(into + path.sep)) throw new Error(`tar entry outside its folder: ${name}`);
    if (type === '5') await mkdir(target, { recursive: true });
    else if (type === '0' || type === '') {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, archive.subarray(at + 512, at + 512 + size), { mode: 0o644 });
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
}

/**
 * Unpacks the packaged Chromium, its libraries and fonts into node_modules/.cache once per
 * package version. Unpacking goes to a private folder renamed into place at the end, so a run
 * that was killed half-way, or two runs at once, never leave a broken browser behind.
 */
async function unpackChromium(): Promise<{ executablePath: string; libDir: string; home: string }> {
  const pkg = chromiumPackage();
  const home = path.resolve(pkg.dir, '..', '..', '.cache', `rxjet-chromium-${pkg.version}`);
  const found = { executablePath: path.join(home, 'chromium'), libDir: path.join(home, 'lib'), home };
  if (existsSync(path.join(home, 'complete'))) return found;

  const work = `${home}.${process.pid}.${Date.now()}`;
  await mkdir(work, { recursive: true });
  try {
    const bin = (file: string): Promise<Buffer> =>
      readFile(path.join(pkg.dir, 'bin', file)).then((data) => unbrotli(data));
    await writeFile(path.join(work, 'chromium'), await bin('chromium.br'), { mode: 0o755 });
    await untar(await bin('al2023.tar.br'), work);
    await untar(await bin('fonts.tar.br'), work);
    await writeFile(
      path.join(work, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <dir>${path.join(home, 'fonts')}</dir>\n  <cachedir>${path.join(home, 'fonts-cache')}</cachedir>\n` +
        `</fontconfig>\n`,
    );
    await writeFile(path.join(work, 'complete'), `${pkg.version}\n`);
    await rename(work, home).catch((error: unknown) => {
      // Another run got there first: its copy is complete, so use it.
      if (!existsSync(path.join(home, 'complete'))) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return found;
}

/** Starts the packaged headless Chromium for a browser spec. */
export async function launchChromium(): Promise<Browser> {
  const { executablePath, libDir, home } = await unpackChromium();
  const libraryPath = [libDir, ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== '')];
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    env: { ...process.env, LD_LIBRARY_PATH: libraryPath.join(':'), FONTCONFIG_PATH: home },
    args: [
      '--no-sandbox',
      '--no-zygote',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
