import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childEnv } from './helpers.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the package', function () {
  this.timeout(30_000);
  let folder: string;

  before(async () => {
    await access(path.join(root, 'dist', 'index.js')).catch(() => {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    });
    folder = await mkdtemp(path.join(tmpdir(), 'rxjet-consumer-'));
    await mkdir(path.join(folder, 'node_modules'));
    await symlink(root, path.join(folder, 'node_modules', 'rxjet'), 'dir');
    // The consumer's own copy of rxjs, as an app that depends on both would have.
    await symlink(path.join(root, 'node_modules', 'rxjs'), path.join(folder, 'node_modules', 'rxjs'), 'dir');
    await writeFile(path.join(folder, 'package.json'), JSON.stringify({ type: 'module' }));
  });

  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('works when imported by name from another folder, through its exports map', async () => {
    await writeFile(
      path.join(folder, 'consumer.mjs'),
      `
      import { serve, json, text, form, HttpError } from 'rxjet/server';
      import { inject, mockRequest } from 'rxjet/testing';
      import { connect, websocket, backoff } from 'rxjet/websocket';
      import * as all from 'rxjet';
      import { firstValueFrom, of } from 'rxjs';
      const server = await serve({ handler: (req) => of({ body: 'hi ' + req.path }) });
      const res = await fetch(server.url + '/pkg');
      const body = await res.text();
      await server.close();
      const injected = await firstValueFrom(inject(() => ({ body: 'mock' }), mockRequest()));
      const missing = await import('rxjet/nope').then(() => 'found', (e) => e.code);
      const { createClient, get } = await import('rxjet/client');
      const internal = await import('rxjet/dist/internal/errors.js').then(() => 'found', (e) => e.code);
      console.log(JSON.stringify({
        body, injected: injected.body, missing, internal,
        exports: [typeof createClient, typeof get, typeof connect, typeof websocket, typeof backoff, typeof serve, typeof json, typeof text, typeof form, typeof HttpError, typeof all.serve, typeof all.inject, typeof all.RxjetError],
      }));
      `,
    );
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: folder, env: childEnv() });
    expect(JSON.parse(stdout)).to.deep.equal({
      body: 'hi /pkg',
      injected: 'mock',
      missing: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      exports: Array(13).fill('function'),
    });
  });

  it('ships type declarations for every export', async () => {
    for (const entry of ['index', 'server/index', 'websocket/index', 'client/index', 'testing/index']) {
      await access(path.join(root, 'dist', `${entry}.d.ts`));
    }
  });
});
