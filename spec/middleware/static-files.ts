// The serveStatic specs' fixture: a tree of real files in a temp folder, and the peers that ask for them.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const secret = 'TOP SECRET, outside the root';
export const bigSize = 5 * 1024 * 1024;

/** The files: `root` is served; `dir` holds it and the secrets beside it. */
export interface StaticTree {
  dir: string;
  root: string;
  /** The content of `big.bin`, 5 MiB. */
  big: Buffer;
  remove(): Promise<void>;
}

/** Makes the tree: files of several types, folders with and without an index, dotfiles, links in and out, a FIFO. */
export async function staticTree(): Promise<StaticTree> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-static-'));
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(path.join(root, 'bare'));
  await mkdir(path.join(root, '.git'));
  await mkdir(path.join(dir, 'outside'));
  const files: Record<string, string | Buffer> = {
    'secret.txt': secret,
    'outside/secret.txt': secret,
    'root/hello.txt': 'hello, world\n',
    'root/page.html': '<h1>page</h1>',
    'root/style.css': 'h1 { color: red }',
    'root/app.js': 'console.log(1);',
    'root/data.json': '{"a":1}',
    'root/pixel.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    'root/LICENSE': 'MIT',
    'root/empty.txt': '',
    'root/digits.txt': '0123456789',
    'root/%2e': 'a file named %2e',
    'root/sub/index.html': '<h1>sub index</h1>',
    'root/sub/home.htm': '<h1>sub home</h1>',
    'root/bare/x.txt': 'x',
    'root/.env': 'PASSWORD=1',
    'root/.git/config': '[core]',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const big = Buffer.alloc(bigSize);
  for (let i = 0; i < bigSize; i += 4) big.writeUInt32LE(i, i);
  await writeFile(path.join(root, 'big.bin'), big);
  await symlink('../secret.txt', path.join(root, 'link-out.txt'));
  await symlink('../outside', path.join(root, 'link-dir-out'));
  await symlink('hello.txt', path.join(root, 'link-in.txt'));
  await symlink('.env', path.join(root, 'link-dot'));
  await symlink('loop', path.join(root, 'loop'));
  await promisify(execFile)('mkfifo', [path.join(root, 'pipe')]); // reading it would wait for a writer
  return { dir, root, big, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A response as node:http saw it. */
export interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends `target` exactly as given (node:http does not normalise a path it is given as `path`). */
export function get(port: number, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** curl with `--path-as-is`, so `..` and `.` segments are sent as typed; the status and body. */
export async function curl(url: string, ...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await promisify(execFile)('curl', ['-sS', '--path-as-is', ...args, '-w', '\n%{http_code}', url]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** Bytes this process has read through read(2) and friends, files and sockets alike (Linux). */
export function bytesRead(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

/** How many descriptors this process holds open on `file` (Linux). */
export function openHandles(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}
