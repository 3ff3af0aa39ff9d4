// The route tree: patterns parsed into segments, and a lookup whose cost grows with the path's
// length, not with the number of routes.
import { InvalidOptionError } from '../internal/errors.js';

/**
 * A tree of path segments. Each node has static children by their text, one param child (any
 * name: a param's name belongs to the route, not to the node) and one wildcard child, and may end
 * a route (`value`) or hold a mounted router (`mount`). Lookup walks one segment at a time: a
 * static child first, then the param child, then the wildcard, then a mount, backtracking when a
 * branch cannot match the rest, so the most specific pattern wins whatever the order of
 * registration.
 */
export class RouteTree<V, M> {
  private readonly root = new TreeNode<V, M>();
  /** Fully static patterns by their path, for the common case: a hit is always the most specific match. */
  private readonly statics = new Map<string, TreeNode<V, M>>();

  /** The node a pattern's segments lead to, made if missing. */
  node(segments: readonly Segment[]): TreeNode<V, M> {
    let node = this.root;
    for (const segment of segments) {
      if (segment.kind === 'static') {
        node.statics ??= new Map();
        let child = node.statics.get(segment.text);
        if (child === undefined) node.statics.set(segment.text, (child = new TreeNode()));
        node = child;
      } else if (segment.kind === 'param') {
        node = node.param ??= new TreeNode();
      } else {
        node = node.wildcard ??= new TreeNode();
      }
    }
    if (segments.every((segment) => segment.kind === 'static')) {
      this.statics.set(segments.length === 0 ? '' : formatPattern(segments), node);
    }
    return node;
  }

  /**
   * Finds the most specific node that ends a route or holds a mount for `path`: `''` for the
   * root, else a path starting with `/`.
   *
   * @returns the match, or `undefined`
   */
  find(path: string): Found<V, M> | undefined {
    const hit = this.statics.get(path);
    if (hit?.value !== undefined)
      return { value: hit.value, mount: undefined, at: 0, values: noValues, rest: undefined };
    return walk(this.root, path, path === '' ? -1 : 1, []);
  }
}

/** One node of a {@link RouteTree}. */
class TreeNode<V, M> {
  statics: Map<string, TreeNode<V, M>> | undefined = undefined;
  param: TreeNode<V, M> | undefined = undefined;
  wildcard: TreeNode<V, M> | undefined = undefined;
  value: V | undefined = undefined;
  mount: M | undefined = undefined;
}

export type { TreeNode };

const noValues: string[] = [];

/** What a lookup found: a route's value with its params, or a mount and where its part of the path starts. */
export interface Found<V, M> {
  readonly value: V | undefined;
  readonly mount: M | undefined;
  /** For a mount: the index in the path where the mounted router's part starts (its `/`, or the end). */
  readonly at: number;
  /** The raw (still percent-encoded) param values, in the pattern's order; not to be changed. */
  readonly values: readonly string[];
  /** The raw rest of the path a wildcard matched. */
  readonly rest: string | undefined;
}

/** Walks from `node` with the segment starting at `start` (`-1`: the path is used up). */
function walk<V, M>(node: TreeNode<V, M>, path: string, start: number, values: string[]): Found<V, M> | undefined {
  if (start < 0) {
    if (node.value !== undefined) return { value: node.value, mount: undefined, at: 0, values, rest: undefined };
    if (node.mount !== undefined)
      return { value: undefined, mount: node.mount, at: path.length, values, rest: undefined };
    return undefined;
  }
  const slash = path.indexOf('/', start);
  const end = slash === -1 ? path.length : slash;
  const next = slash === -1 ? -1 : slash + 1;
  const child = node.statics?.get(path.slice(start, end));
  if (child !== undefined) {
    const found = walk(child, path, next, values);
    if (found !== undefined) return found;
  }
  if (node.param !== undefined && end > start) {
    values.push(path.slice(start, end));
    const found = walk(node.param, path, next, values);
    if (found !== undefined) return found;
    values.pop();
  }
  if (node.wildcard?.value !== undefined) {
    return { value: node.wildcard.value, mount: undefined, at: 0, values, rest: path.slice(start) };
  }
  if (node.mount !== undefined) return { value: undefined, mount: node.mount, at: start - 1, values, rest: undefined };
  return undefined;
}

/** One segment of a pattern. */
export type Segment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'wildcard' };

const paramName = /^[A-Za-z_$][\w$]*$/;
/** Characters a path carries percent-encoded: a pattern's are encoded the same way (UTF-8, upper-case hex). */
const encodedInPaths = /[^\x21-\x7e]/gu;

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
      if (!paramName.test(name)) {
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
    return { kind: 'static', text: text.replace(encodedInPaths, encodeURIComponent) };
  });
}

/** The pattern as written back from its segments (static text encoded as matched); no segments is `/`. */
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
