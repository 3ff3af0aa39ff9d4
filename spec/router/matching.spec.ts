import { expect } from 'chai';
import fc from 'fast-check';
import { router } from '../../src/router/index.js';
import type { JetResponse } from '../../src/server/index.js';
import { mockRequest } from '../../src/testing/index.js';

/*
 * The route tree against a reference written the obvious way: every pattern is checked against
 * the path segment by segment, and of those that match, the most specific wins (at the first
 * segment where two differ, static beats param beats wildcard). Random route tables and paths,
 * in random order of registration.
 */

type Kind = 0 | 1 | 2; // static, param, wildcard

function kinds(pattern: string): Kind[] {
  return pattern
    .slice(1)
    .split('/')
    .map((segment) => (segment === '*' ? 2 : segment.startsWith(':') ? 1 : 0));
}

/** The params a pattern gives a path, or undefined when it does not match. */
function reference(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.slice(1).split('/');
  const have = path.slice(1).split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment === '*') {
      if (have.length < want.length) return undefined;
      params['*'] = have.slice(i).join('/');
      return params;
    }
    if (i >= have.length) return undefined;
    if (segment.startsWith(':')) {
      if (have[i] === '') return undefined;
      params[segment.slice(1)] = have[i]!;
    } else if (segment !== have[i]) return undefined;
  }
  return have.length === want.length ? params : undefined;
}

function moreSpecific(a: string, b: string): boolean {
  const [ka, kb] = [kinds(a), kinds(b)];
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]!;
  return ka.length > kb.length;
}

function expected(patterns: readonly string[], path: string): { route: string; params: object } | undefined {
  let best: string | undefined;
  for (const pattern of patterns) {
    if (reference(pattern, path) !== undefined && (best === undefined || moreSpecific(pattern, best))) best = pattern;
  }
  return best === undefined ? undefined : { route: best, params: reference(best, path)! };
}

/** Patterns whose shapes differ (one per shape), so that every table is valid. */
const table = fc.uniqueArray(
  fc.array(fc.constantFrom('a', 'b', 'ab', ':p', ':q', ''), { minLength: 1, maxLength: 4 }).chain((segments) =>
    fc.boolean().map((wild) => {
      const named = segments.map((segment, i) => (segment.startsWith(':') ? `${segment}${i}` : segment));
      return `/${(wild ? [...named, '*'] : named).join('/')}`;
    }),
  ),
  { selector: (pattern) => pattern.replace(/:[a-z]+\d/g, ':'), minLength: 1, maxLength: 12 },
);

const paths = fc
  .array(fc.constantFrom('a', 'b', 'ab', 'c', ''), { minLength: 1, maxLength: 5 })
  .map((segments) => `/${segments.join('/')}`);

describe('route matching against a reference', () => {
  it('finds the most specific pattern, with its params, whatever the order of registration', () => {
    fc.assert(
      fc.property(table, fc.array(paths, { minLength: 1, maxLength: 10 }), (patterns, requests) => {
        const app = router();
        for (const pattern of patterns) {
          app.get(pattern, (req): JetResponse => ({ body: JSON.stringify({ route: req.route, params: req.params }) }));
        }
        for (const path of requests) {
          const answer = app(mockRequest({ url: path })) as JetResponse | null;
          const got = answer === null ? undefined : (JSON.parse(answer.body as string) as object);
          expect(got, `${path} in ${JSON.stringify(patterns)}`).to.deep.equal(expected(patterns, path));
        }
      }),
      { numRuns: 500 },
    );
  });
});
