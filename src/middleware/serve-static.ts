// `serveStatic()`: a handler serving the files under a folder, with validators, ranges and backpressure.
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, HttpError, InvalidOptionError } from '../internal/errors.js';
import { booleanOption, checkKnownOptions, choiceOption, integerOption } from '../internal/validate.js';
import { mimeTypesPackage } from '../internal/packages.js';
import { plainResponse } from '../server/to-response.js';
import type { Handler, JetRequest, JetResponse } from '../server/types.js';
import { byteRange } from './byte-range.js';
import { fileBody } from './file-body.js';
import { preconditions, rangeStillFresh, type Validators } from './preconditions.js';
import { askedPath, isDotName } from './static-path.js';

/** What {@link serveStatic} does with dotfiles: names starting with `.`. */
export type DotfilesPolicy = 'ignore' | 'deny' | 'allow';

/** Options of {@link serveStatic}. */
export interface ServeStaticOptions {
  /**
   * The file that answers for a folder: `/docs/` serves `docs/index.html`, and `/docs` is
   * redirected (301) to `/docs/` when that file exists, so that its relative links resolve.
   * `false` serves no folder (a 404).
   * @default 'index.html'
   */
  index?: string | false;
  /**
   * Paths with a segment starting with `.` (`.env`, `.git/config`): `'ignore'` answers as if
   * they did not exist (`null`, a 404); `'deny'` answers 403; `'allow'` serves them.
   * @default 'ignore'
   */
  dotfiles?: DotfilesPolicy;
  /**
   * Whether a symbolic link inside the root may lead outside it. When `false`, a link is
   * followed only to a file that is itself under the root (and not a dotfile, unless allowed);
   * anything else is answered as if it did not exist.
   * @default false
   */
  followSymlinks?: boolean;
  /**
   * How long caches may keep a file, in seconds: `Cache-Control: public, max-age=<maxAge>`.
   * @default 0
   */
  maxAge?: number;
  /**
   * Adds `immutable` to `Cache-Control`: the file at this URL never changes (its name carries a
   * content hash), so browsers do not revalidate it while it is fresh.
   * @default false
   */
  immutable?: boolean;
}

/**
 * A handler that serves the files under `root`, for GET and HEAD (another method gets 405 with
 * `Allow: GET, HEAD`). Behind a wildcard route (`router().get('/assets/*', serveStatic('public'))`)
 * it serves the wildcard's rest of the path; elsewhere, the request's whole path.
 *
 * - Nothing outside `root` is served. A path with a `.` or `..` segment, an empty segment (an
 *   absolute path), an encoded separator (`%2f`, `%5c`), a backslash or NUL is refused with 400,
 *   never normalised into another file; a path is decoded once. A symbolic link that leads
 *   outside `root` is answered as missing, unless `followSymlinks` is set.
 * - A missing file answers `null`: a 404 that middleware around it sees and may replace. So do
 *   dotfiles (see `dotfiles`), folders without an index and other kinds of file (sockets, FIFOs).
 *   As a router's `notFound`, it serves the files for the paths no route took.
 * - Headers: `Content-Type` from the extension (with `charset=utf-8` for text), `Content-Length`,
 *   a weak `ETag` from size and modification time, `Last-Modified`, `Cache-Control`,
 *   `Accept-Ranges: bytes`. `If-None-Match` and `If-Modified-Since` give 304 when the client's
 *   copy is current; `If-Match` and `If-Unmodified-Since` give 412.
 * - `Range`: one range gives 206 with `Content-Range` (under `If-Range`, only while it names
 *   this version); a range past the end gives 416 with `Content-Range: bytes *\/<size>`; several
 *   ranges get the whole file.
 * - HEAD answers the same headers without opening the file. A GET's body is read from the disk a
 *   chunk at a time, as fast as the client takes it, and the file is closed when the client goes
 *   away.
 *
 * @param root - the folder to serve, relative to the working directory or absolute
 * @param options - index file, dotfiles, symbolic links and caching
 * @returns a handler, for a route or for `serve` directly
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { serveStatic } from 'rxjet/middleware';
 * import { serve } from 'rxjet/server';
 *
 * // Hashed assets cached for a year; the rest of the site for every path no route took.
 * const app = router({ notFound: serveStatic('public') })
 *   .get('/assets/*', serveStatic('public/assets', { maxAge: 31_536_000, immutable: true }))
 *   .get('/api/health', () => ({ body: 'ok' }));
 * await serve({ handler: app, port: 8080 });
 * ```
 */
export function serveStatic(root: string, options: ServeStaticOptions = {}): Handler {
  if (typeof root !== 'string' || root === '' || root.includes('\0')) {
    throw new InvalidOptionError('root', `a folder's path, got ${describe(root)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'serveStatic');
  const o = options as Record<string, unknown>;
  const maxAge = integerOption(o, 'maxAge', 0, 0, 2 ** 31 - 1);
  const config: Config = {
    root: path.resolve(root),
    index: indexOption(o.index),
    dotfiles: choiceOption(o, 'dotfiles', policies, 'ignore'),
    followSymlinks: booleanOption(o, 'followSymlinks', false),
    cacheControl: `public, max-age=${maxAge}${booleanOption(o, 'immutable', false) ? ', immutable' : ''}`,
  };
  return (req: JetRequest) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plainResponse(405, undefined, { allow: 'GET, HEAD' });
    return answer(req, config);
  };
}

const optionNames = ['index', 'dotfiles', 'followSymlinks', 'maxAge', 'immutable'];
const policies: readonly DotfilesPolicy[] = ['ignore', 'deny', 'allow'];

/** The options, checked once. */
interface Config {
  readonly root: string;
  readonly index: string | false;
  readonly dotfiles: DotfilesPolicy;
  readonly followSymlinks: boolean;
  readonly cacheControl: string;
}

/** A file found under the root: its real path, its stats, and the name its type is taken from. */
interface Found {
  readonly file: string;
  readonly stats: Stats;
  readonly name: string;
}

async function answer(req: JetRequest, config: Config): Promise<JetResponse | null> {
  const asked = askedPath(req);
  if (config.dotfiles !== 'allow' && asked.segments.some(isDotName)) {
    if (config.dotfiles === 'deny') throw new HttpError(403);
    return null;
  }
  const found = await locate(config, asked.segments);
  if (found === null) return null;
  if (found.stats.isFile()) return asked.folder ? null : fileResponse(req, found, config);
  if (!found.stats.isDirectory() || config.index === false) return null;
  const index = await locate(config, [...asked.segments, config.index]);
  if (index === null || !index.stats.isFile()) return null;
  return asked.folder ? fileResponse(req, index, config) : redirectToFolder(req);
}

/** Finds what `segments` name under the root, as long as it really is under the root. */
async function locate(config: Config, segments: readonly string[]): Promise<Found | null> {
  const asked = path.join(config.root, ...segments);
  try {
    const file = await realpath(asked);
    if (!config.followSymlinks) {
      const root = await realpath(config.root);
      const relative = path.relative(root, file);
      if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return null;
      // A link to a dotfile is the dotfile.
      if (config.dotfiles !== 'allow' && relative.split(path.sep).some(isDotName)) return null;
    }
    return { file, stats: await stat(file), name: asked };
  } catch (error) {
    if (missing.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
}

/** Errors that mean nothing is there (ELOOP: a link that leads nowhere). */
const missing = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP']);

function fileResponse(req: JetRequest, { file, stats, name }: Found, config: Config): JetResponse {
  const { size } = stats;
  const validators: Validators = {
    etag: `W/"${size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
    modified: Math.floor(stats.mtimeMs / 1000) * 1000,
  };
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    'cache-control': config.cacheControl,
    etag: validators.etag,
    'last-modified': new Date(validators.modified).toUTCString(),
  };
  const condition = preconditions(req.headers, validators);
  if (condition === 304) return { status: 304, headers };
  if (condition === 412) return plainResponse(412);
  let range = byteRange(req.headers.range, size);
  if (range !== 'whole' && !rangeStillFresh(req.headers, validators)) range = 'whole';
  if (range === 'unsatisfiable') {
    return plainResponse(416, undefined, { 'accept-ranges': 'bytes', 'content-range': `bytes */${size}` });
  }
  const { start, end } = range === 'whole' ? { start: 0, end: size - 1 } : range;
  headers['content-type'] = mimeTypesPackage().contentType(path.extname(name)) || 'application/octet-stream';
  headers['content-length'] = String(end - start + 1);
  if (range !== 'whole') headers['content-range'] = `bytes ${start}-${end}/${size}`;
  const body = req.method === 'HEAD' || end < start ? undefined : fileBody(file, start, end, stats);
  return { status: range === 'whole' ? 200 : 206, headers, body };
}

/** A folder asked without its slash: redirected to it, as serve-static does, so relative links work. */
function redirectToFolder(req: JetRequest): JetResponse {
  // One leading slash: '//host/' would be a protocol-relative Location (an open redirect).
  const target = `/${req.path.replace(/^\/+/, '')}/`;
  const location = req.query === '' ? target : `${target}?${req.query}`;
  return plainResponse(301, `Redirecting to ${location}`, { location });
}

function indexOption(value: unknown): string | false {
  if (value === undefined) return 'index.html';
  if (value === false) return false;
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw new InvalidOptionError('index', `a file name or false, got ${describe(value)}`);
  }
  return value;
}
