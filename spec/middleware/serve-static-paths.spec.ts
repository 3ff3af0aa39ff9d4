import { expect } from 'chai';
import { router } from '../../src/router/index.js';
import { serveStatic } from '../../src/middleware/index.js';
import { closeAll, rawExchange, start } from '../helpers.js';
import { curl, get, secret, staticTree, type StaticTree } from './static-files.js';

describe('serveStatic: paths that could leave the root', function () {
  this.timeout(30_000);
  let tree: StaticTree;
  let dir: string;
  let root: string;
  let routed: number;
  let plain: number;

  before(async () => {
    tree = await staticTree();
    ({ dir, root } = tree);
  });

  after(() => tree.remove());

  beforeEach(async () => {
    routed = (await start(router().get('/assets/*', serveStatic(root)))).port;
    plain = (await start(serveStatic(root))).port;
  });

  afterEach(closeAll);

  /** Every form, as curl sends it with --path-as-is; none may reach the secret. */
  const refused: [string, number, string][] = [
    ['/assets/../secret.txt', 400, 'The path has a ".." segment; it is not served.'],
    ['/assets/sub/../../secret.txt', 400, 'The path has a ".." segment; it is not served.'],
    ['/assets/%2e%2e/secret.txt', 400, 'The path has a ".." segment; it is not served.'],
    ['/assets/%2E%2E/secret.txt', 400, 'The path has a ".." segment; it is not served.'],
    ['/assets/.%2e/secret.txt', 400, 'The path has a ".." segment; it is not served.'],
    ['/assets/./hello.txt', 400, 'The path has a "." segment; it is not served.'],
    ['/assets/..%2fsecret.txt', 400, 'The path has an encoded "/"; it is not served.'],
    ['/assets/sub%2F..%2F..%2Fsecret.txt', 400, 'The path has an encoded "/"; it is not served.'],
    ['/assets/..%5csecret.txt', 400, 'The path has a backslash; it is not served.'],
    ['/assets/..%5Csecret.txt', 400, 'The path has a backslash; it is not served.'],
    ['/assets/hello.txt%00.png', 400, 'The path has a NUL byte; it is not served.'],
    ['/assets//etc/passwd', 400, 'The path has an empty segment; it is not served.'],
    ['/assets/%2fetc%2fpasswd', 400, 'The path has an encoded "/"; it is not served.'],
    ['/assets/%252e%252e/secret.txt', 404, 'Not Found'],
    ['/assets/%252e%252e%252fsecret.txt', 404, 'Not Found'],
    ['/assets/hello%zz.txt', 400, 'The path has a malformed percent-encoding.'],
  ];

  it('refuses every traversal form sent by curl, routed and plain', async () => {
    for (const [target, status, message] of refused) {
      for (const url of [`http://127.0.0.1:${routed}${target}`, `http://127.0.0.1:${plain}${target.slice(7)}`]) {
        const res = await curl(url);
        expect([url, res.status, res.body]).to.deep.equal([url, status, message]);
      }
    }
  });

  it('refuses them from node:http, and a raw backslash and an absolute path over TCP', async () => {
    for (const [target, status] of refused) {
      const res = await get(routed, target);
      expect([target, res.status]).to.deep.equal([target, status]);
      expect(res.body.toString()).not.to.include('SECRET');
    }
    for (const [port, target, answer] of [
      [routed, '/assets/..\\secret.txt', 'The path has a backslash; it is not served.'],
      [routed, '/assets/sub\\..\\..\\secret.txt', 'The path has a backslash; it is not served.'],
      [plain, '/..\\secret.txt', 'The path has a backslash; it is not served.'],
      [plain, '//etc/passwd', 'The path has an empty segment; it is not served.'],
      [plain, `/${dir.slice(1)}/secret.txt`, 'Not Found'], // under the root, where it is not
    ] as const) {
      const { received } = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect([target, received.slice(received.indexOf('\r\n\r\n') + 4)]).to.deep.equal([target, answer]);
    }
  });

  it('decodes a path once: %252e names a file called %2e', async () => {
    expect((await get(routed, '/assets/%252e')).body.toString()).to.equal('a file named %2e');
  });

  it('treats a symbolic link that leads outside the root as missing, unless followSymlinks', async () => {
    for (const target of ['/assets/link-out.txt', '/assets/link-dir-out/secret.txt', '/assets/link-dot']) {
      const res = await get(routed, target);
      expect([target, res.status]).to.deep.equal([target, 404]);
      expect(res.body.toString()).not.to.include('SECRET');
    }
    expect((await get(routed, '/assets/link-in.txt')).body.toString()).to.equal('hello, world\n');
    const follows = (await start(router().get('/assets/*', serveStatic(root, { followSymlinks: true })))).port;
    expect((await get(follows, '/assets/link-out.txt')).body.toString()).to.equal(secret);
    expect((await get(follows, '/assets/link-dir-out/secret.txt')).body.toString()).to.equal(secret);
  });

  it('hides dotfiles by default, and denies (403) or serves them when told', async () => {
    for (const target of ['/assets/.env', '/assets/%2eenv', '/assets/.git/config', '/assets/.git/']) {
      expect([target, (await get(routed, target)).status]).to.deep.equal([target, 404]);
    }
    const deny = (await start(router().get('/assets/*', serveStatic(root, { dotfiles: 'deny' })))).port;
    expect((await get(deny, '/assets/.git/config')).status).to.equal(403);
    const allow = (await start(router().get('/assets/*', serveStatic(root, { dotfiles: 'allow' })))).port;
    expect((await get(allow, '/assets/.env')).body.toString()).to.equal('PASSWORD=1');
    expect((await get(allow, '/assets/link-dot')).body.toString()).to.equal('PASSWORD=1');
  });
});
