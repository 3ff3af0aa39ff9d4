import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium first, then `chromium` or `chromium-browser` anywhere on PATH. */
export function findChromium(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  const candidates = [
    '/usr/bin/chromium',
    ...dirs.flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => path.join(dir, name))),
  ];
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Starts headless Chromium for a browser spec; throws, saying how to install it, when there is
 * none (the browser specs fail rather than skip).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    throw new Error(
      'no Chromium found at /usr/bin/chromium (nor chromium or chromium-browser on PATH): ' +
        "install Debian's chromium package (apt-get install -y chromium) to run the browser specs",
    );
  }
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
