/** The root of every rxjet error, the cross-area InvalidOptionError, and the helpers error messages share. */

/**
 * Base class of every error rxjet raises. `code` is stable across releases; match on it,
 * never on the message.
 *
 * @example
 * ```ts
 * import { RxjetError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * // Nothing listens on port 1: the request fails with a NetworkError, an RxjetError.
 * get(createClient(), 'http://127.0.0.1:1/').subscribe({
 *   error: (err: unknown) => console.log(err instanceof RxjetError ? err.code : err), // RXJET_ERR_NETWORK
 * });
 * ```
 */
export class RxjetError extends Error {
  /** A stable `RXJET_ERR_*` code. */
  readonly code: string;

  /**
   * @param code - a stable `RXJET_ERR_*` code, listed in {@link errorCodes}
   * @param message - what happened and where
   * @param options - the `cause`
   */
  constructor(code: string, message: string, options?: RxjetErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** The name of the error's class, e.g. `'TimeoutError'`, as stack traces and logs show it. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** What an error carries besides its message. */
export interface RxjetErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * A function was given an option or argument it cannot use: a programmer error, thrown at call time.
 *
 * @example
 * ```ts
 * import { InvalidOptionError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * try {
 *   await serve({ handler: () => null, port: 70000 });
 * } catch (err) {
 *   if (err instanceof InvalidOptionError) console.log(err.option, err.message); // port Invalid option "port": …
 * }
 * ```
 */
export class InvalidOptionError extends RxjetError {
  /** The option or argument at fault. */
  readonly option: string;

  /**
   * @param option - the name of the option or argument at fault
   * @param expected - what it should have been, e.g. `'an integer from 0 to 65535'`
   */
  constructor(option: string, expected: string) {
    super('RXJET_ERR_INVALID_OPTION', `Invalid option "${option}": expected ${expected}.`);
    this.option = option;
  }
}

/** The reason phrase of a status, or a generic one by class. */
export function statusText(status: number): string {
  return statusTexts[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
}

const statusTexts: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A short description of a value for error messages, never its content. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'number' ? `the number ${value}` : `a ${typeof value}`;
}
