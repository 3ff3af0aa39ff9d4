import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Manifest {
  name: string;
  version: string;
  license?: string;
  repository?: { url: string };
  homepage?: string;
  bugs?: { url: string };
  engines?: { node: string };
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  typesVersions?: Record<string, Record<string, string[]>>;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

/** Runs a command with a bounded time; a failure carries everything the command printed. */
function run(
  command: string,
  args: string[],
  cwd: string,
  timeout = 60_000,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error === null) resolve({ stdout, stderr });
      else reject(new Error(`${[command, ...args].join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * The lockfile a project depending on `rxjet` (the packed tarball) and `@types/node` gets, with
 * every other package at the version, place and integrity the repository's own lockfile has: so
 * `npm ci --offline` installs from what the repository's `npm ci` put in npm's cache, and the
 * consumer runs on exactly the dependencies the rest of the suite tested.
 */
function consumerLockfile(
  repoLock: { packages: Record<string, LockEntry> },
  manifest: Manifest,
  tarball: { spec: string; integrity: string },
  extra: Record<string, string>,
): { packageJson: object; lockfile: object } {
  const packages = repoLock.packages;
  // Node's lookup: the nearest node_modules folder up from `from` that holds `name`.
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ;) {
      const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (packages[candidate] !== undefined) return candidate;
      if (base === '') return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut === -1 ? '' : base.slice(0, cut);
    }
  };
  const needed = (from: string, name: string): string =>
    resolve(from, name) ?? fail(`the repository's lockfile has no ${name} for ${from || 'the root'}`);
  const chosen = new Map<string, LockEntry>();
  const visit = (at: string): void => {
    if (chosen.has(at)) return;
    // What is dev or optional in the repository is a plain dependency of rxjet in the consumer.
    const entry = Object.fromEntries(
      Object.entries(packages[at]!).filter(([key]) => !['dev', 'devOptional', 'optional', 'peer'].includes(key)),
    ) as LockEntry;
    chosen.set(at, entry);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (name) => entry.peerDependenciesMeta?.[name]?.optional !== true,
    );
    for (const name of [...Object.keys(entry.dependencies ?? {}), ...peers]) visit(needed(at, name));
    // An optional dependency the repository did not install (another platform's binary) stays out.
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const found = resolve(at, name);
      if (found !== undefined) visit(found);
    }
  };
  // The tarball's dependencies are the repository's own, at its root.
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(extra)]) visit(needed('', name));
  const dependencies = { [manifest.name]: tarball.spec, ...extra };
  const lockPackages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: tarball.spec,
      integrity: tarball.integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      engines: manifest.engines,
    },
    ...Object.fromEntries(chosen),
  };
  return {
    packageJson: { name: 'consumer', private: true, type: 'module', dependencies },
    lockfile: { name: 'consumer', lockfileVersion: 3, requires: true, packages: lockPackages },
  };
}

describe(`the package, packed and installed in an empty project (Node ${process.versions.node})`, function () {
  this.timeout(60_000);
  let folder: string;
  let consumer: string;
  let manifest: Manifest;
  let packed: { filename: string; files: { path: string }[] };
  let installLog: string;
  /** The names users import, from the exports map: `rxjet`, `rxjet/server`, … */
  let entries: string[];

  before(async function () {
    this.timeout(180_000);
    await access(path.join(root, 'dist', 'index.js')).catch(() => {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    });
    manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as Manifest;
    entries = Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => path.posix.join(manifest.name, subpath));
    folder = await mkdtemp(path.join(tmpdir(), 'rxjet-consumer-'));
    // `prepack` would build dist/ again: npm test has just built it.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', folder], root);
    const [info] = JSON.parse(stdout) as [typeof packed & { integrity: string }];
    packed = info;
    consumer = path.join(folder, 'consumer');
    await mkdir(consumer);
    const repoLock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    // The one thing the README tells TypeScript users to add; at the version the repository tests with.
    const typesNode = repoLock.packages['node_modules/@types/node']!.version!;
    const { packageJson, lockfile } = consumerLockfile(
      repoLock,
      manifest,
      { spec: `file:../${info.filename}`, integrity: info.integrity },
      { '@types/node': typesNode },
    );
    await writeFile(path.join(consumer, 'package.json'), JSON.stringify(packageJson, null, 2));
    await writeFile(path.join(consumer, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
    const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], consumer, 120_000);
    installLog = installed.stdout + installed.stderr;
  });

  after(async () => {
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  });

  it('packs the built code, the license and the README, and no tests', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).to.include.members(['LICENSE', 'README.md', 'package.json']);
    for (const target of Object.values(manifest.exports)) {
      if (typeof target === 'object') expect(files).to.include.members([target.types, target.default].map(packedPath));
    }
    expect(files.filter((file) => /^(spec|marbles|bench|examples|node_modules)\//.test(file))).to.deep.equal([]);
  });

  it('ships each entry point bundled (shared code in chunks), without comments, mapped onto src/, and declarations with their docs', async () => {
    // Node keeps several KiB of its own for every module it loads, and V8 keeps each module's
    // source: one file per entry point (and a few shared chunks) rather than one per source file.
    const installed = path.join(consumer, 'node_modules', manifest.name);
    const code = (await readdir(path.join(installed, 'dist'), { recursive: true }))
      .filter((file) => file.endsWith('.js'))
      .map((file) => file.split(path.sep).join('/'));
    const entryFiles = Object.values(manifest.exports).flatMap((target) =>
      typeof target === 'object' ? [path.posix.relative('dist', path.posix.normalize(target.default))] : [],
    );
    expect(code.filter((file) => !file.startsWith('chunks/')).sort()).to.deep.equal([...entryFiles].sort());
    expect(code.length).to.be.below(entryFiles.length + 40);
    for (const file of code) {
      const text = await readFile(path.join(installed, 'dist', file), 'utf8');
      // Only what the bundler writes: a line naming the module that follows, and pure-call marks.
      const comments = text.replaceAll('/* @__PURE__ */', '').replace(/^\/\/ [\w/.-]+\.js$/gm, '');
      // A class whose body names it would get a second, inner name from the bundler (`_Foo`).
      expect(text, file).not.to.match(/= class _/);
      expect(comments, file).not.to.match(/\/\*\*|^\s*\/\*|^\s*\/\/(?!# sourceMappingURL=)/m);
      const map = JSON.parse(await readFile(path.join(installed, 'dist', `${file}.map`), 'utf8')) as {
        sources: string[];
      };
      for (const source of map.sources) {
        await access(path.resolve(path.dirname(path.join(installed, 'dist', file)), source));
        expect(source, file).to.match(/\/src\/.+\.ts$/);
      }
    }
    const declarations = await readFile(path.join(installed, 'dist', 'server', 'serve.d.ts'), 'utf8');
    expect(declarations).to.match(/\/\*\*[^]*?\*\/\s*export declare function serve\(/);
  });

  it('keeps the names of the classes and functions it exports, as errors and stack traces show them', async () => {
    await writeFile(
      path.join(consumer, 'names.mjs'),
      `
      const renamed = [];
      for (const entry of ${JSON.stringify(entries)}) {
        for (const [name, value] of Object.entries(await import(entry))) {
          // The client's method helpers are made by one factory and have no name of their own.
          if (typeof value === 'function' && value.name !== name && value.name !== '') renamed.push(entry + ': ' + name + ' is ' + value.name);
        }
      }
      const { TimeoutError, HttpError } = await import('rxjet');
      console.log(JSON.stringify({ renamed, errors: [new HttpError(404).name, String(new TimeoutError('GET', 'http://127.0.0.1/', 'headers', 5))] }));
      `,
    );
    const { stdout } = await run(process.execPath, ['names.mjs'], consumer);
    const { renamed, errors } = JSON.parse(stdout) as { renamed: string[]; errors: string[] };
    expect(renamed).to.deep.equal([]);
    expect(errors[0]).to.equal('HttpError');
    expect(errors[1]).to.match(/^TimeoutError: /);
  });

  it('says where it lives and runs no script when installed', async () => {
    const installedManifest = JSON.parse(
      await readFile(path.join(consumer, 'node_modules', manifest.name, 'package.json'), 'utf8'),
    ) as Manifest;
    expect(installedManifest.license).to.equal('MIT');
    expect(installedManifest.repository?.url).to.equal('git+https://github.com/rxjet/rxjet.git');
    expect(installedManifest.homepage).to.equal('https://github.com/rxjet/rxjet#readme');
    expect(installedManifest.bugs?.url).to.equal('https://github.com/rxjet/rxjet/issues');
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'];
    expect(Object.keys(installedManifest.scripts ?? {}).filter((name) => lifecycle.includes(name))).to.deep.equal([]);
    expect(installLog).not.to.match(/install-scripts/);
    expect(await readFile(path.join(consumer, 'node_modules', manifest.name, 'LICENSE'), 'utf8')).to.match(
      /^MIT License\n\nCopyright \(c\) 2026 the rxjet authors\n/,
    );
  });

  it('installs nothing beyond its dependencies and @types/node: no TypeScript, no @types of its own tests', async () => {
    const installed = JSON.parse(await readFile(path.join(consumer, 'node_modules', '.package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const names = Object.keys(installed.packages).map((at) => at.slice(at.lastIndexOf('node_modules/') + 13));
    expect(names).to.include.members([manifest.name, ...Object.keys(manifest.dependencies ?? {}), '@types/node']);
    expect(names).not.to.include('typescript');
    expect(names.filter((name) => name.startsWith('@types/')).sort()).to.deep.equal(['@types/node', '@types/ws']);
  });

  describe('type-checked by a strict project that lists no `types` (as TypeScript 7 does by default)', () => {
    before(async () => {
      // skipLibCheck off, as a strict user has it, checks rxjet's .d.ts and all of @types/node:
      // about 4 s of CPU with TypeScript 5 or 6, so only the nodenext runs pay for it. The
      // others prove their resolution with the file's @ts-expect-error lines, which fail when an
      // entry point or a type it names resolves to `any`.
      const base = { strict: true, noEmit: true, target: 'es2022', types: [] };
      const config = (compilerOptions: object, files: string[]): string =>
        JSON.stringify({ compilerOptions: { ...base, ...compilerOptions }, files }, null, 2);
      await writeFile(path.join(consumer, 'every-entry.ts'), everyEntry(entries, 'import'));
      await writeFile(path.join(consumer, 'every-entry.cts'), everyEntry(entries, 'require'));
      const files = {
        nodenext: config({ module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false }, [
          'every-entry.ts',
          'every-entry.cts',
        ]),
        bundler: config({ module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true }, ['every-entry.ts']),
        node10: config({ module: 'commonjs', moduleResolution: 'node10', skipLibCheck: true }, ['every-entry.ts']),
      };
      for (const [name, text] of Object.entries(files)) {
        await writeFile(path.join(consumer, `tsconfig.${name}.json`), text);
      }
    });

    /** Runs tsc from the repository's `compiler` package on the consumer's project; resolves with the major it ran. */
    async function tsc(compiler: string, project: string): Promise<string> {
      const dir = path.join(root, 'node_modules', compiler);
      await run(process.execPath, [path.join(dir, 'bin', 'tsc'), '-p', project], consumer);
      const { version } = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string };
      return version.split('.')[0]!;
    }

    for (const [major, compiler] of [
      ['5', 'typescript5'],
      ['6', 'typescript'],
      ['7', 'typescript7'],
    ] as const) {
      it(`compiles an import and a require of every entry point, lib check on, under TypeScript ${major} and moduleResolution nodenext`, async () => {
        expect(await tsc(compiler, 'tsconfig.nodenext.json')).to.equal(major);
      });
    }

    for (const [major, compiler] of [
      ['5', 'typescript5'],
      ['7', 'typescript7'],
    ] as const) {
      it(`compiles an import of every entry point under TypeScript ${major} and moduleResolution bundler`, async () => {
        expect(await tsc(compiler, 'tsconfig.bundler.json')).to.equal(major);
      });
    }

    it('compiles an import of every entry point under moduleResolution node10, through typesVersions (TypeScript 5: 6 deprecates node10, 7 removes it)', async () => {
      const mapped = Object.keys(manifest.typesVersions?.['*'] ?? {}).map((subpath) => `${manifest.name}/${subpath}`);
      expect(mapped).to.have.members(entries.filter((entry) => entry !== manifest.name));
      expect(await tsc('typescript5', 'tsconfig.node10.json')).to.equal('5');
    });
  });

  it('imports and require()s every entry point, each in a process of its own, and both give the same names', async () => {
    const names = async (how: 'import' | 'require', entry: string): Promise<string[]> => {
      const script =
        how === 'import'
          ? `const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()));`
          : `const m = require(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
      const args = how === 'import' ? ['--input-type=module', '-e', script] : ['--input-type=commonjs', '-e', script];
      return JSON.parse((await run(process.execPath, args, consumer)).stdout) as string[];
    };
    for (const entry of entries) {
      // Each in a process of its own, so each require() is the first load of the module graph.
      const [imported, required] = await Promise.all([names('import', entry), names('require', entry)]);
      expect(imported, entry).not.to.be.empty;
      expect(required, `require('${entry}')`).to.deep.equal(imported);
    }
  });

  it('works when imported by name through its exports map, and refuses anything it does not export', async () => {
    await writeFile(
      path.join(consumer, 'consumer.mjs'),
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
    const { stdout } = await run(process.execPath, ['consumer.mjs'], consumer);
    expect(JSON.parse(stdout)).to.deep.equal({
      body: 'hi /pkg',
      injected: 'mock',
      missing: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      exports: Array(13).fill('function'),
    });
  });

  it('loads ws, undici, busboy, mime-types, negotiator, node:http2, https, tls and cluster only once they are used', async () => {
    await writeFile(
      path.join(consumer, 'lazy.mjs'),
      `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const lazy = ['ws', 'undici', '@fastify/busboy', 'mime-types', 'negotiator'];
      // node's own listen() loads cluster, and undici loads https and tls: checked before either runs.
      // What node:http loads itself is not rxjet's doing (Node 24's loads tls and http2).
      const builtins = ['http2', 'https', 'tls', 'cluster'];
      const isLoaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);
      await import('node:http');
      const platform = builtins.filter(isLoaded);
      const packages = () => lazy.filter((name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
      const loaded = () => ({
        packages: packages(),
        builtins: builtins.filter((name) => isLoaded(name) && !platform.includes(name)),
      });
      const rxjet = await import('rxjet');
      const atImport = loaded();
      const { firstValueFrom, mergeMap, of, reduce, map } = await import('rxjs');
      const server = await rxjet.serve({
        port: 0,
        host: '127.0.0.1',
        handler: rxjet.router()
          .get('/ws', () => ({ websocket: (conn) => conn.in$ }))
          .post('/upload', (req) => rxjet.multipart(req).pipe(
            mergeMap((part) => (part.kind === 'file' ? part.body.pipe(reduce((n, c) => n + c.byteLength, 0)) : of(0))),
            reduce((a, b) => a + b, 0),
            map((n) => ({ body: String(n) })),
          ))
          .use(rxjet.compress())
          .get('/static/*', rxjet.serveStatic('.')),
      });
      const afterServe = { ...loaded(), builtins: loaded().builtins.filter((name) => name !== 'cluster') };
      const conn = await rxjet.connect(server.url.replace('http', 'ws') + '/ws', (c) => undefined);
      const echoed = firstValueFrom(conn.in$);
      conn.out$.next('hi');
      const echo = await echoed;
      conn.out$.complete();
      const client = rxjet.createClient();
      const upload = (await firstValueFrom(rxjet.post(client, server.url + '/upload', { multipart: { f: { value: 'abcd', filename: 'f.txt' } }, as: 'text' }))).body;
      const file = await firstValueFrom(rxjet.get(client, server.url + '/static/package-lock.json', { headers: { 'accept-encoding': 'gzip' }, as: 'bytes' }));
      const afterUse = packages();
      await client.close();
      await server.close();
      console.log(JSON.stringify({ atImport, afterServe, afterUse, echo, upload, file: [file.status, file.headers['content-type'], file.headers['content-encoding']] }));
      `,
    );
    const { stdout } = await run(process.execPath, ['lazy.mjs'], consumer);
    const none = { packages: [], builtins: [] };
    expect(JSON.parse(stdout)).to.deep.equal({
      atImport: none,
      afterServe: none,
      afterUse: ['ws', 'undici', '@fastify/busboy', 'mime-types', 'negotiator'],
      echo: 'hi',
      upload: '4',
      file: [200, 'application/json; charset=utf-8', 'gzip'],
    });
  });

  it('works without its optional peer redis, whose bus then throws a MissingPackageError naming it', async () => {
    await writeFile(
      path.join(consumer, 'no-redis.mjs'),
      `
      import { createHub, redisBus } from 'rxjet/pubsub';
      const hub = createHub();
      const got = new Promise((resolve) => hub.topic('t').subscribe(resolve));
      await hub.topic('t').publish('in memory');
      let error;
      try { redisBus({ url: 'redis://127.0.0.1:6379' }); } catch (e) { error = e; }
      console.log(JSON.stringify({ got: await got, name: error.name, code: error.code, packageName: error.packageName, message: error.message }));
      await hub.close();
      `,
    );
    const { stdout } = await run(process.execPath, ['no-redis.mjs'], consumer);
    expect(JSON.parse(stdout)).to.deep.equal({
      got: 'in memory',
      name: 'MissingPackageError',
      code: 'RXJET_ERR_MISSING_PACKAGE',
      packageName: 'redis',
      message: 'redisBus({ url }) needs the "redis" package, an optional peer dependency of rxjet: npm install redis',
    });
  });

  it('serves, injects and refuses internals from CommonJS, with the rxjs that require() gives', async () => {
    await writeFile(
      path.join(consumer, 'consumer.cjs'),
      `
      const { serve } = require('rxjet/server');
      const { inject, mockRequest } = require('rxjet/testing');
      const { firstValueFrom, of } = require('rxjs');
      (async () => {
        const server = await serve({ handler: (req) => of({ body: 'cjs ' + req.path }) });
        const body = await (await fetch(server.url + '/pkg')).text();
        await server.close();
        const injected = await firstValueFrom(inject(() => of({ body: 'mock' }), mockRequest()));
        let internal = 'found';
        try { require('rxjet/dist/internal/errors.js'); } catch (e) { internal = e.code; }
        console.log(JSON.stringify({ body, injected: injected.body, internal }));
      })();
      `,
    );
    const { stdout } = await run(process.execPath, ['consumer.cjs'], consumer);
    expect(JSON.parse(stdout)).to.deep.equal({
      body: 'cjs /pkg',
      injected: 'mock',
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
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
        path.join(consumer, 'readme-client.mjs'),
        example!.replace("'http://127.0.0.1:8080/'", `'${base}'`),
      );
      const { stdout } = await run(process.execPath, ['readme-client.mjs'], consumer);
      expect(stdout).to.equal('event one\n');
      expect(seen.sort()).to.deep.equal(['GET /events ', 'GET /items ', 'POST /login user=ann&tags=a&tags=b']);
    } finally {
      server.close();
    }
  });
});

function fail(message: string): never {
  throw new Error(message);
}

/** `./dist/x.js` as npm lists it in a tarball: `dist/x.js`. */
function packedPath(target: string): string {
  return path.posix.normalize(target);
}

/**
 * A consumer's file that loads every entry point, by `import` (ESM) or `import … = require`
 * (CommonJS, a .cts), and proves the types are real, not `any`: each `@ts-expect-error` must
 * meet an error, or tsc fails on the unused directive.
 */
function everyEntry(entries: string[], how: 'import' | 'require'): string {
  const lines = entries.map((entry, i) =>
    how === 'import' ? `import * as entry${i} from '${entry}';` : `import entry${i} = require('${entry}');`,
  );
  const checks = entries.map(
    (entry, i) =>
      `// @ts-expect-error ${entry} has no export of that name, so its types were found\nentry${i}.notAnExport;`,
  );
  const server = entries.indexOf('rxjet/server');
  const websocket = entries.indexOf('rxjet/websocket');
  return `${[
    ...lines,
    ...checks,
    // node's types (the request's raw IncomingMessage) and ws's (the connection's socket) reach the user.
    `export const remote = (req: entry${server}.JetRequest): string | undefined => req.raw?.socket.remoteAddress;`,
    `// @ts-expect-error node's IncomingMessage has no such member\nexport const none = (req: entry${server}.JetRequest) => req.raw?.notAMember;`,
    `export const state = (conn: entry${websocket}.WebSocketConnection): number => conn.ws.readyState;`,
    `// @ts-expect-error ws's WebSocket has no such member\nexport const no = (conn: entry${websocket}.WebSocketConnection) => conn.ws.notAMember;`,
    `export const all = [${entries.map((_, i) => `entry${i}`).join(', ')}];`,
  ].join('\n')}\n`;
}
