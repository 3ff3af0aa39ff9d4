import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile, access } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

  it("runs the README's HTTP client example as written: get as json, post formParams, a streamed body", async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## HTTP client'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).to.be.a('string').that.includes("get(client, '/items', { as: 'json' })");
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        if (req.url === '/items') res.setHeader('content-type', 'application/json').end('[{"id":1}]');
        else if (req.url === '/events') res.end('event one\n');
        else res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      expect(example).to.include("'http://127.0.0.1:8080/'");
      await writeFile(
        path.join(folder, 'readme-client.mjs'),
        example!.replace("'http://127.0.0.1:8080/'", `'${base}'`),
      );
      const { stdout } = await run(process.execPath, ['readme-client.mjs'], { cwd: folder, env: childEnv() });
      expect(stdout).to.equal('event one\n');
      expect(seen.sort()).to.deep.equal(['GET /events ', 'GET /items ', 'POST /login user=ann&tags=a&tags=b']);
    } finally {
      server.close();
    }
  });

  it('ships type declarations for every export', async () => {
    for (const entry of ['index', 'server/index', 'websocket/index', 'client/index', 'testing/index']) {
      await access(path.join(root, 'dist', `${entry}.d.ts`));
    }
  });
});
