// `inject()`: running a request through the server's pipeline into memory, in virtual time if
// wanted.
import { Observable } from 'rxjs';
import { InvalidOptionError, ResponseStreamError } from '../internal/errors.js';
import { Exchange } from '../server/exchange.js';
import { resolvePipeline, type ServerConfig } from '../server/options.js';
import { limitedBody } from '../server/request-body.js';
import type { PipelineConfig, ResponseOptions } from '../server/pipeline-config.js';
import { kConfig, Server } from '../server/serve.js';
import type { Handler, JetRequest } from '../server/types.js';
import { type InjectedResponse, MemoryResponse } from '../server/memory-response.js';

/**
 * The request as the server would hold it: its body limited by the server's
 * `maxRequestBodySize`, and the body helpers defaulting to the server's `maxBodySize`, whatever
 * the mock said. Derived, not copied: the signal and the rest are the original's.
 */
function withLimitsOf(config: ServerConfig, req: JetRequest): JetRequest {
  const declared = Number(req.headers['content-length'] ?? -1);
  return Object.create(req, {
    body: { value: limitedBody(req.body, config.maxRequestBodySize, declared), enumerable: true },
    maxBodySize: { value: config.maxBodySize },
  }) as JetRequest;
}

/**
 * Runs a request through a handler, or a server's handler and settings, with no network: the
 * same pipeline `serve` runs, writing to memory. Cold: nothing runs until subscribed.
 *
 * Emits the whole response when it ends, then completes. Errors when the response breaks after
 * its head (a body failing mid-stream), with the error `onError` was given. Unsubscribing acts
 * as the client going away: the handler and body are unsubscribed and `req.signal` aborts.
 * Observable handlers and bodies run in virtual time under RxJS's `TestScheduler`.
 *
 * @param target - a handler, or a {@link Server} to use its handler and options
 * @param req - the request, usually from {@link mockRequest}
 * @param options - pipeline options when `target` is a handler (`highWaterMark`, `overflow`, `handlerTimeout`, `onError`)
 * @returns a cold Observable of the response
 * @example
 * ```ts
 * import { inject, mockRequest } from 'rxjet/testing';
 * import { of } from 'rxjs';
 * const handler = () => of({ status: 202, body: 'queued' });
 * inject(handler, mockRequest()).subscribe((res) => console.log(res.status, res.body)); // 202 queued
 * ```
 */
export function inject(
  target: Handler | Server,
  req: JetRequest,
  options?: ResponseOptions,
): Observable<InjectedResponse> {
  let handler: Handler;
  let base: PipelineConfig;
  if (target instanceof Server) {
    if (options !== undefined) throw new InvalidOptionError('options', 'nothing when injecting into a server');
    const config = target[kConfig];
    handler = config.handler;
    base = config.pipeline;
    if (req !== null && typeof req === 'object') req = withLimitsOf(config, req);
  } else if (typeof target === 'function') {
    handler = target;
    base = resolvePipeline(options ?? {});
  } else {
    throw new InvalidOptionError('target', 'a handler function or a Server');
  }
  if (req === null || typeof req !== 'object')
    throw new InvalidOptionError('req', 'a request, e.g. from mockRequest()');
  return new Observable<InjectedResponse>((subscriber) => {
    let failure: Error | undefined;
    // Inherits from the server's settings so that a server that starts closing is seen here too.
    const config: PipelineConfig = Object.create(base, {
      report: {
        value: (error: Error, request: JetRequest) => {
          failure = error;
          base.report(error, request);
        },
      },
    }) as PipelineConfig;
    const res = new MemoryResponse(
      (response) => {
        subscriber.next(response);
        subscriber.complete();
      },
      () => subscriber.error(failure ?? new ResponseStreamError(`${req.method} ${req.url}`, undefined)),
    );
    new Exchange(req, res, config).run(handler);
    return () => res.disconnect();
  });
}
