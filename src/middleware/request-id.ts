// `requestId()`: one id per request, as `req.id` and as a response header on every answer.
import { catchError, isObservable, map, of, type Observable } from 'rxjs';
import { describe, InvalidOptionError } from '../internal/errors.js';
import { randomUuid } from '../internal/uuid.js';
import { checkKnownOptions, functionOption } from '../internal/validate.js';
import { answerNow, eager } from '../router/compose.js';
import type { Middleware } from '../router/types.js';
import { DerivedRequest } from '../server/derived-request.js';
import { errorResponse } from '../server/to-response.js';
import type { JetRequest, JetResponse } from '../server/types.js';
import { withHeaders } from './response-headers.js';

/** What {@link requestId} adds to the request that the routes below it see. */
export interface RequestIdFields {
  /** The request's id: the sane one it came with, or a new one; also the answer's header. */
  id: string;
}

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /**
   * The request header an incoming id is read from, and the response header the id is sent in.
   * @default 'x-request-id'
   */
  header?: string;
  /**
   * Makes an id for a request that brings none (or one that is not sane). It must return 1 to
   * 200 visible ASCII characters; anything else fails the request.
   * @default a random UUID (version 4), as `crypto.randomUUID` makes
   */
  generator?: (req: JetRequest) => string;
}

/**
 * Gives each request an id: the one it brings in `x-request-id` when that is sane (1 to 200
 * visible ASCII characters, no spaces or controls, so that it is safe to log and to send back),
 * else a new one. Routes below see it as `req.id` (typed), and every answer below carries it in
 * `x-request-id`, errors included (an `HttpError`, an unknown error answered 500 and still
 * reported to `onError`, a 404, a route's timeout).
 *
 * New ids are random (version 4) UUIDs from node:crypto's CSPRNG, as `crypto.randomUUID()`
 * makes them, but written as one flat string: the string `crypto.randomUUID()` returns is
 * joined from 21 pieces, and flattening it when the header is written costs more than making
 * it. UUIDs reveal nothing (a counter tells anyone how many requests the server has had) and
 * stay unique across processes and restarts.
 *
 * @param options - `header` and `generator`
 * @returns the middleware, adding `id` to the request
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { requestId } from 'rxjet/middleware';
 * import { serve } from 'rxjet/server';
 *
 * const app = router()
 *   .use(requestId())
 *   .get('/', (req) => ({ body: `you are request ${req.id}` }));
 * await serve({ handler: app, port: 8080 });
 * ```
 */
export function requestId(options: RequestIdOptions = {}): Middleware<RequestIdFields> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'requestId');
  const o = options as Record<string, unknown>;
  const header = headerName(o.header);
  const generator = functionOption<(req: JetRequest) => unknown>(o, 'generator');

  return eager<RequestIdFields>((req, run) => {
    const incoming = req.headers[header];
    let id: string;
    if (incoming !== undefined && sane.test(incoming)) {
      id = incoming;
    } else if (generator === undefined) {
      id = randomUuid();
    } else {
      const made = generator(req);
      if (typeof made !== 'string' || !sane.test(made)) {
        throw new InvalidOptionError(
          'generator',
          `a function returning 1 to 200 visible ASCII characters, got ${describe(made)}`,
        );
      }
      id = made;
    }
    const set = { [header]: id };
    // An error below is answered here, as the server would answer it (and still reports it), so
    // that its answer carries the id too.
    let answer: JetResponse | Observable<JetResponse>;
    try {
      answer = answerNow(run, new IdRequest(req, id));
    } catch (error) {
      return withHeaders(errorResponse(error), set);
    }
    if (!isObservable(answer)) return withHeaders(answer, set);
    return answer.pipe(
      catchError((error: unknown) => of(errorResponse(error))),
      map((res) => withHeaders(res, set)),
    );
  });
}

const optionNames = ['header', 'generator'];

/** The request below `requestId()`: what `deriveRequest(req, { id })` makes, with the id a field of its class. */
class IdRequest extends DerivedRequest {
  declare id: string;

  constructor(req: JetRequest, id: string) {
    super(req);
    this.id = id;
  }
}

/** A sane id: 1 to 200 visible ASCII characters (no space, control or non-ASCII byte). */
const sane = /^[\x21-\x7e]{1,200}$/;
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerName(value: unknown): string {
  if (value === undefined) return 'x-request-id';
  if (typeof value !== 'string' || !token.test(value)) {
    throw new InvalidOptionError('header', `a header name (an HTTP token), got ${describe(value)}`);
  }
  return value.toLowerCase();
}
