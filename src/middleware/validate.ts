// `validate()`: middleware that checks a request's body, query and params against Standard Schemas.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { defer, forkJoin, map, Observable, of, switchMap, throwError } from 'rxjs';
import { describe, HttpError, InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions } from '../internal/validate.js';
import type { Middleware } from '../router/types.js';
import { deriveRequest } from '../server/derive-request.js';
import { form, urlencodedFields } from '../server/form.js';
import { json } from '../server/json.js';
import { parseContentType } from '../server/read-body.js';
import type { JetRequest, JetResponse } from '../server/types.js';

/**
 * Middleware that checks parts of the request against Standard Schema v1 schemas (zod 4,
 * valibot 1, arktype, …) before the handler runs, and hands the handler what the schemas
 * output, typed, in `req.valid.body`, `req.valid.query` and `req.valid.params`.
 *
 * - `query` gets the query string as a plain object: a key given once is a string, a repeated
 *   key an array of its values (`?tag=a&tag=b` is `{ tag: ['a', 'b'] }`). Values are strings:
 *   coerce numbers in the schema (`z.coerce.number()`).
 * - `params` gets the route's `req.params`, so it belongs in a route's `use`, where the router
 *   has matched them (in a router's own `use`, no route has matched yet: that is an error).
 * - `body` gets the body parsed by the server's helpers: `json(req)` for `application/json` (or
 *   `*+json`), `form(req)` for `application/x-www-form-urlencoded`, with the server's
 *   `maxBodySize`. Another content type, or none, is a 415; invalid JSON a 400; a body too large
 *   a 413 (all `HttpError`s, as the helpers raise them).
 *
 * Every part is checked, and when any schema fails the answer is a 400 with a JSON body
 * `{ "issues": [{ "message": "…", "path": ["name"], "in": "body" }] }` (`path` as keys,
 * `in` the part): a response, not an error, so it stays a 400 JSON answer whatever middleware is
 * above. The handler does not run. Async schemas work; when the client goes away while a body
 * is read or a schema runs, nothing below runs.
 *
 * Stacked `validate` middleware add to one another's `req.valid`.
 *
 * @param schemas - a schema for each part to check: `body`, `query`, `params`
 * @returns middleware adding `valid` to the request it passes on
 * @example
 * ```ts
 * import { validate } from 'rxjet/middleware';
 * import { router } from 'rxjet/router';
 * import { z } from 'zod';
 *
 * const user = z.object({ name: z.string().min(1), age: z.number().int().optional() });
 * const app = router().post(
 *   '/users/:org',
 *   (req) => ({ status: 201, body: `${req.valid.body.name} joined ${req.valid.params.org}` }),
 *   { use: [validate({ body: user, params: z.object({ org: z.string() }) })] },
 * );
 * ```
 */
export function validate<const S extends ValidationSchemas>(
  schemas: S,
): Middleware<{
  /** What the schemas output, by part: `body`, `query`, `params`. */
  readonly valid: Validated<S>;
}> {
  if (schemas === null || typeof schemas !== 'object') {
    throw new InvalidOptionError('schemas', `an object of schemas ({ body, query, params }), got ${describe(schemas)}`);
  }
  checkKnownOptions(schemas, parts, 'validate');
  const checks: Check[] = [];
  for (const part of parts) {
    const schema = (schemas as Record<string, unknown>)[part];
    if (schema === undefined) continue;
    if (!isStandardSchema(schema)) {
      throw new InvalidOptionError(
        part,
        `a Standard Schema v1 schema (zod 4, valibot 1, arktype…), got ${describe(schema)}`,
      );
    }
    checks.push({ part, schema });
  }
  if (checks.length === 0) throw new InvalidOptionError('schemas', 'at least one of body, query or params');
  return (req, next) =>
    forkJoin(checks.map((check) => outcome(check, req))).pipe(
      switchMap((outcomes) => {
        const issues: ValidationIssue[] = [];
        const valid: Record<string, unknown> = { ...(req as { valid?: object }).valid };
        let failed = false;
        for (const { part, result } of outcomes) {
          // Standard Schema: a falsy `issues` is success, anything else a failure.
          if (!result.issues) valid[part] = result.value;
          else {
            failed = true;
            for (const issue of result.issues) issues.push(issueOf(part, issue));
          }
        }
        return failed ? of(invalid(issues)) : next(deriveRequest(req, { valid }));
      }),
    );
}

/** The schemas {@link validate} checks the request with: any Standard Schema v1 schema, for each part. */
export interface ValidationSchemas {
  /** Checks the body, parsed from JSON or a urlencoded form; handlers read the output in `req.valid.body`. */
  body?: StandardSchemaV1;
  /** Checks the query as an object of strings (arrays for repeated keys); the output is `req.valid.query`. */
  query?: StandardSchemaV1;
  /** Checks the route's `req.params` (in a route's `use`); the output is `req.valid.params`. */
  params?: StandardSchemaV1;
}

/** What the schemas given to {@link validate} output, by part: the type of `req.valid`. */
export type Validated<S extends ValidationSchemas> = {
  readonly [K in keyof S as S[K] extends StandardSchemaV1 ? K : never]: S[K] extends StandardSchemaV1
    ? StandardSchemaV1.InferOutput<S[K]>
    : never;
};

/** One problem a schema found, as the 400 answer of {@link validate} lists it in `issues`. */
export interface ValidationIssue {
  /** What is wrong, in the schema library's words. */
  message: string;
  /** Where in the part: keys and indexes from its root (`['items', 0, 'name']`); `[]` for the part itself. */
  path: (string | number)[];
  /** The part of the request at fault. */
  in: 'body' | 'query' | 'params';
}

type Part = ValidationIssue['in'];

/** Cheap parts first: their values are at hand, while the body must be read. */
const parts: readonly Part[] = ['params', 'query', 'body'];

interface Check {
  readonly part: Part;
  readonly schema: StandardSchemaV1;
}

interface Outcome {
  readonly part: Part;
  readonly result: StandardSchemaV1.Result<unknown>;
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const props = (value as Partial<StandardSchemaV1>)['~standard'];
  return props !== undefined && props !== null && props.version === 1 && typeof props.validate === 'function';
}

/** A cold Observable of what one schema says of its part of `req`: the input is read, then checked. */
function outcome({ part, schema }: Check, req: JetRequest): Observable<Outcome> {
  return inputOf(part, req).pipe(
    switchMap((input) => check(schema, input)),
    map((result) => ({ part, result })),
  );
}

/** The value a part's schema gets. */
function inputOf(part: Part, req: JetRequest): Observable<unknown> {
  return defer(() => {
    if (part === 'query') return of(urlencodedFields(req.query, 'query has a forbidden key'));
    if (part === 'params') {
      const { params } = req as { params?: unknown };
      if (params === null || typeof params !== 'object') {
        throw new InvalidOptionError(
          'params',
          "a schema used in a route's use, where the router has set req.params (no route has matched in a router's own use)",
        );
      }
      return of(params);
    }
    const [mediaType] = parseContentType(req.headers['content-type'] ?? '');
    if (mediaType === 'application/json' || mediaType.endsWith('+json')) return json(req);
    if (mediaType === 'application/x-www-form-urlencoded') return form(req);
    return throwError(
      () =>
        new HttpError(
          415,
          `Unsupported content type: ${mediaType === '' ? 'none given' : mediaType}; send application/json or application/x-www-form-urlencoded.`,
        ),
    );
  });
}

/** Runs a schema on subscribe; a Promise it returns is waited for, and forgotten when unsubscribed. */
function check(schema: StandardSchemaV1, input: unknown): Observable<StandardSchemaV1.Result<unknown>> {
  return new Observable((subscriber) => {
    const result = schema['~standard'].validate(input);
    if (typeof (result as Partial<PromiseLike<unknown>>).then !== 'function') {
      subscriber.next(result as StandardSchemaV1.Result<unknown>);
      subscriber.complete();
      return;
    }
    (result as PromiseLike<StandardSchemaV1.Result<unknown>>).then(
      (value) => {
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => subscriber.error(error),
    );
  });
}

/** A schema library's issue as the answer lists it: path segments as their keys. */
function issueOf(part: Part, issue: StandardSchemaV1.Issue): ValidationIssue {
  const path: (string | number)[] = [];
  for (const segment of issue.path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    path.push(typeof key === 'symbol' ? (key.description ?? '') : key);
  }
  return { message: typeof issue.message === 'string' ? issue.message : 'Invalid value.', path, in: part };
}

/** The 400 answer listing every issue. */
function invalid(issues: ValidationIssue[]): JetResponse {
  return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ issues }) };
}
