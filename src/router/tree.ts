// The route tree: patterns parsed into segments, and a lookup whose cost grows with the path's
// length, not with the number of routes.
import { InvalidOptionError } from '../internal/errors.js';

/**
 * A radix tree of patterns. A node matches a run of static characters (`prefix`, across
 * segments: `/users/`), and has static children by their first character, one param child (any
 * name: a param's name belongs to the route, not to the node) and one wildcard child; it may end
 * a route (`value`) or hold a mounted router (`mount`). Lookup compares the path in place, one
 * run of characters at a time: a static child first, then the param child (a whole segment), then
 * the wildcard, then a mount, backtracking when a branch cannot match the rest, so the most
 * specific pattern wins whatever the order of registration, at a cost that grows with the path's
 * length, not with the number of routes.
 */
export class RouteTree<V, M> {
  private readonly root = new TreeNode<V, M>('');
  /** Fully static patterns by their path, for the common case: a hit is always the most specific match. */
  private readonly statics = new Map<string, TreeNode<V, M>>();
  private readonly bounds: number[] = [];

  /** The node a pattern's segments lead to (no segments: the root), made if missing. */
  node(segments: readonly Segment[]): TreeNode<V, M> {
    let node = this.root;
    let text = '';
    for (const segment of segments) {
      if (segment.kind === 'static') {
        text += `/${segment.text}`;
        continue;
      }
      node = insertStatic(node, `${text}/`);
      text = '';
      node = segment.kind === 'param' ? (node.param ??= new TreeNode('')) : (node.wildcard ??= new TreeNode(''));
    }
    node = insertStatic(node, text);
    if (segments.every((segment) => segment.kind === 'static')) {
      this.statics.set(segments.length === 0 ? '' : formatPattern(segments), node);
    }
    return node;
  }

  /**
   * Finds the most specific node that ends a route or holds a mount for `path`: `''` for the
   * root, else a path starting with `/`. The match's `bounds` are the tree's own, kept only
   * until its next lookup: read the params before anything else can route.
   *
   * @returns the match, or `undefined`
   */
  find(path: string): Found<V, M> | undefined {
    const hit = this.statics.get(path);
    if (hit?.value !== undefined)
      return { value: hit.value, mount: undefined, at: 0, path, bounds: noBounds, rest: undefined };
    // The root without a route of its own is `/` to what hangs below it: `/*`, a router mounted at `/`.
    const walked = path === '' ? '/' : path;
    const bounds = this.bounds;
    while (bounds.length > 0) bounds.pop();
    const found = walk(this.root, walked, 0, bounds);
    if (found === undefined || bounds.length === 0) return found;
    found.path = walked;
    found.bounds = bounds;
    return found;
  }
}

/** One node of a {@link RouteTree}. */
class TreeNode<V, M> {
  /**
   * Static children, and the first character of each one's prefix: no two share it, so there
   * are at most as many as characters may start a run (scanned, faster than a Map at that size).
   */
  readonly firsts: number[] = [];
  readonly statics: TreeNode<V, M>[] = [];
  param: TreeNode<V, M> | undefined = undefined;
  wildcard: TreeNode<V, M> | undefined = undefined;
  value: V | undefined = undefined;
  mount: M | undefined = undefined;

  /** @param prefix - the static characters this node matches after its parent's */
  constructor(public prefix: string) {}
}

export type { TreeNode };

/** The node `text` leads to below `node`, splitting a child whose prefix it shares only in part. */
function insertStatic<V, M>(node: TreeNode<V, M>, text: string): TreeNode<V, M> {
  while (text.length > 0) {
    const first = text.charCodeAt(0);
    const index = node.firsts.indexOf(first);
    if (index === -1) {
      const child = new TreeNode<V, M>(text);
      node.firsts.push(first);
      node.statics.push(child);
      return child;
    }
    let child = node.statics[index]!;
    let common = 1;
    const most = Math.min(child.prefix.length, text.length);
    while (common < most && child.prefix.charCodeAt(common) === text.charCodeAt(common)) common++;
    if (common < child.prefix.length) {
      const middle = new TreeNode<V, M>(child.prefix.slice(0, common));
      child.prefix = child.prefix.slice(common);
      middle.firsts.push(child.prefix.charCodeAt(0));
      middle.statics.push(child);
      node.statics[index] = middle;
      child = middle;
    }
    text = text.slice(common);
    node = child;
  }
  return node;
}

const noBounds: readonly number[] = [];

/** The raw (still percent-encoded) param values of a match, in the pattern's order. */
export function paramValues(found: Found<unknown, unknown>): string[] {
  const { path, bounds } = found;
  const values: string[] = [];
  for (let i = 0; i < bounds.length; i += 2) values.push(path.slice(bounds[i], bounds[i + 1]));
  return values;
}

/** What a lookup found: a route's value with its params, or a mount and where its part of the path starts. */
export interface Found<V, M> {
  readonly value: V | undefined;
  readonly mount: M | undefined;
  /** For a mount: the index in the path where the mounted router's part starts (its `/`, or the end). */
  readonly at: number;
  /** The string the params were found in. */
  path: string;
  /**
   * Where each param's raw (still percent-encoded) value starts and ends in `path`, in the
   * pattern's order, cut out only by who needs them (a branch given up on slices nothing).
   */
  bounds: readonly number[];
  /** The raw rest of the path a wildcard matched. */
  readonly rest: string | undefined;
}

/**
 * Walks below `node`, whose characters end at `at` in `path`. Down a branch with nothing to come
 * back to (one way on at each node, the common case) it loops; it recurses only where a static
 * child, the param child or a wildcard could each still match. Each param's start and end go
 * in `bounds`; on a miss, `bounds` is left as it was given.
 */
function walk<V, M>(node: TreeNode<V, M>, path: string, at: number, bounds: number[]): Found<V, M> | undefined {
  const length = path.length;
  const mark = bounds.length;
  for (;;) {
    if (at === length) {
      if (node.value !== undefined)
        return { value: node.value, mount: undefined, at: 0, path, bounds: noBounds, rest: undefined };
      if (node.wildcard?.value !== undefined) {
        return { value: node.wildcard.value, mount: undefined, at: 0, path, bounds: noBounds, rest: '' };
      }
      if (node.mount !== undefined)
        return { value: undefined, mount: node.mount, at, path, bounds: noBounds, rest: undefined };
      break;
    }
    const next = path.charCodeAt(at);
    const param = next === 47 /* / */ ? undefined : node.param;
    const wildcard = node.wildcard?.value;
    const mount = next === 47 /* / */ ? node.mount : undefined;
    const firsts = node.firsts;
    let child: TreeNode<V, M> | undefined;
    for (let i = 0; i < firsts.length; i++) {
      if (firsts[i] === next) {
        child = node.statics[i];
        break;
      }
    }
    if (child !== undefined) {
      const prefix = child.prefix;
      const end = at + prefix.length;
      let same = end <= length;
      for (let i = 1; same && i < prefix.length; i++) same = path.charCodeAt(at + i) === prefix.charCodeAt(i);
      if (same) {
        if (param === undefined && wildcard === undefined && mount === undefined) {
          node = child;
          at = end;
          continue;
        }
        const found = walk(child, path, end, bounds);
        if (found !== undefined) return found;
      }
    }
    if (param !== undefined) {
      let end = at + 1;
      while (end < length && path.charCodeAt(end) !== 47 /* / */) end++;
      bounds.push(at, end);
      if (wildcard === undefined && mount === undefined) {
        node = param;
        at = end;
        continue;
      }
      const found = walk(param, path, end, bounds);
      if (found !== undefined) return found;
      bounds.pop();
      bounds.pop();
    }
    if (wildcard !== undefined) {
      return { value: wildcard, mount: undefined, at: 0, path, bounds: noBounds, rest: path.slice(at) };
    }
    if (mount !== undefined) return { value: undefined, mount, at, path, bounds: noBounds, rest: undefined };
    break;
  }
  while (bounds.length > mark) bounds.pop();
  return undefined;
}

/** One segment of a pattern. */
export type Segment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'wildcard' };

const paramName = /^[A-Za-z_$][\w$]*$/;
/** The escapes a normalised path keeps: of the delimiters `/`, `?`, `#` and of `%` itself. */
const delimiterEscape = /(%2f|%3f|%23|%25)/i;
/** Characters a path may not carry as they are, for a Location header. */
const unsafeInPaths = /[^\x21-\x7e]/gu;

/**
 * A path as routes are matched against it: percent-escapes decoded (`%61` is `a`, `%C3%A9` and
 * `%c3%a9` are `é`), except those of the delimiters `/`, `?`, `#` and of `%`, kept (upper-case)
 * so that a decoded character never makes a segment or an escape that was not there. A path
 * without `%` is returned as it is.
 *
 * @returns the normalised path, or `undefined` for a malformed escape
 */
export function normalisePath(path: string): string | undefined {
  if (!path.includes('%')) return path;
  try {
    return path
      .split(delimiterEscape)
      .map((part, index) => (index % 2 === 1 ? part.toUpperCase() : decodeURIComponent(part)))
      .join('');
  } catch {
    return undefined;
  }
}

/** A normalised path as it may go in a Location header: characters outside printable ASCII percent-encoded. */
export function encodePath(path: string): string {
  return path.replace(unsafeInPaths, encodeURIComponent);
}

/**
 * Parses a route pattern: `/` then segments, each static text, `:name` (a whole segment) or a
 * last `*`.
 *
 * @param pattern - the pattern as registered
 * @param what - the option's name, for errors
 * @param wildcard - whether a trailing `*` is allowed (not in a mount prefix)
 * @returns its segments; `/` alone gives one empty static segment
 */
export function parsePattern(pattern: unknown, what: string, wildcard = true): Segment[] {
  if (typeof pattern !== 'string' || pattern.charCodeAt(0) !== 47 /* / */) {
    throw new InvalidOptionError(
      what,
      `a path pattern starting with '/', got ${JSON.stringify(pattern) ?? String(pattern)}`,
    );
  }
  if (/[?#]/.test(pattern)) {
    throw new InvalidOptionError(what, `a path without a query or fragment, got '${pattern}'`);
  }
  const texts = pattern.slice(1).split('/');
  const names = new Set<string>();
  return texts.map((text, index): Segment => {
    if (text === '*') {
      if (!wildcard) throw new InvalidOptionError(what, `a prefix without a wildcard, got '${pattern}'`);
      if (index !== texts.length - 1) {
        throw new InvalidOptionError(what, `'*' only as the last segment, got '${pattern}'`);
      }
      return { kind: 'wildcard' };
    }
    if (text.startsWith(':')) {
      const name = text.slice(1);
      // `__proto__` would set the params object's prototype instead of a field.
      if (!paramName.test(name) || name === '__proto__') {
        throw new InvalidOptionError(
          what,
          `a param as a whole segment named like an identifier, got ':${name}' in '${pattern}'`,
        );
      }
      if (names.has(name)) throw new InvalidOptionError(what, `each param once, got ':${name}' twice in '${pattern}'`);
      names.add(name);
      return { kind: 'param', name };
    }
    if (text.includes('*')) {
      throw new InvalidOptionError(what, `'*' only as a whole last segment, got '${pattern}'`);
    }
    const normalised = normalisePath(text);
    if (normalised === undefined || normalised.includes('/')) {
      throw new InvalidOptionError(what, `a path with well-formed percent-escapes, got '${pattern}'`);
    }
    return { kind: 'static', text: normalised };
  });
}

/** The pattern as written back from its segments (static text as matched: decoded); no segments is `/`. */
export function formatPattern(segments: readonly Segment[]): string {
  if (segments.length === 0) return '/';
  return (
    '/' +
    segments
      .map((segment) =>
        segment.kind === 'static' ? segment.text : segment.kind === 'param' ? `:${segment.name}` : '*',
      )
      .join('/')
  );
}
