// Checking a response and turning it into a head and a body plan before anything is written.
import type { Readable } from 'node:stream';
import { isObservable, type Observable } from 'rxjs';
import { describe, InvalidHeaderError, InvalidResponseError } from '../internal/errors.js';
import { headerNameProblem, headerValueProblem } from '../internal/headers.js';
import { isAsyncIterable, isPullable } from '../internal/pull.js';
import type { BodyChunk } from './types.js';

/** How a response body is sent. */
export type BodyPlan =
  | { kind: 'fixed'; body: string | Uint8Array | undefined }
  | { kind: 'push'; body: Observable<BodyChunk> }
  | { kind: 'pull'; body: AsyncIterable<BodyChunk> | Readable };

/** Names the request in error messages. */
export interface Where {
  where(): string;
}

/** A checked response, ready for the wire: nothing in it can make `writeHead` throw. */
export interface Head {
  status: number;
  /** Flat name, value, name, value list, as node's `writeHead` takes it. */
  headers: string[];
  /** The content-length the handler set, or -1. */
  declaredLength: number;
  /**
   * A header value holds obs-text (bytes 0x80-0xFF): the head must go out before any string,
   * since node writes a head sent together with a string in that string's encoding (UTF-8).
   */
  obsText: boolean;
  plan: BodyPlan;
}

/**
 * Checks what a handler answered and turns it into a {@link Head}, adding a content-length
 * for whole bodies. Throws {@link InvalidResponseError} or {@link InvalidHeaderError}, before
 * anything is written, for anything that cannot be sent.
 */
export function prepareHead(response: object, at: Where): Head {
  const where = (): string => at.where();
  for (const key in response) {
    // A typo (`stauts`) or a value that is not a response (a parsed body answered without
    // `map`) would otherwise go out as an empty 200.
    if (key !== 'body' && key !== 'status' && key !== 'headers' && key !== 'websocket') {
      throw new InvalidResponseError(
        where(),
        `"${key}" is not part of a response (status, headers, body, or websocket); did you forget to map a value to a response?`,
      );
    }
  }
  const { status = 200, headers, body } = response as { status?: unknown; headers?: unknown; body?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 999) {
    throw new InvalidResponseError(where(), `status must be an integer from 200 to 999, got ${describe(status)}`);
  }
  const flat: string[] = [];
  let declaredLength = -1;
  let obsText = false;
  let framed = false;
  if (headers != null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) {
      throw new InvalidResponseError(where(), `headers must be an object, got ${describe(headers)}`);
    }
    for (const name in headers) {
      const value = (headers as Record<string, unknown>)[name];
      if (value === undefined) continue;
      checkName(name, where);
      if (Array.isArray(value)) {
        for (const item of value) {
          const text = textOf(item, name, where);
          if (notPlain.test(text)) obsText = checkUnusual(text, name, where);
          flat.push(name, text);
        }
      } else {
        const text = textOf(value, name, where);
        if (notPlain.test(text)) obsText = checkUnusual(text, name, where);
        flat.push(name, text);
      }
      const lower = name.length === 14 || name.length === 17 ? name.toLowerCase() : '';
      if (lower === 'content-length') {
        declaredLength = Number(flat[flat.length - 1]);
        if (!Number.isSafeInteger(declaredLength) || declaredLength < 0 || Array.isArray(value)) {
          throw new InvalidHeaderError(where(), name, 'content-length must be one non-negative integer');
        }
        framed = true;
      } else if (lower === 'transfer-encoding') {
        framed = true;
      }
    }
  }

  const plan = planBody(body, where);
  if (plan.kind === 'fixed' && !framed && status !== 204 && status !== 304) {
    const size =
      plan.body === undefined ? 0 : typeof plan.body === 'string' ? Buffer.byteLength(plan.body) : plan.body.byteLength;
    flat.push('content-length', String(size));
  }
  return { status, headers: flat, declaredLength, obsText, plan };
}

/** Anything but tab and visible ASCII: a value without it needs no closer look. */
const notPlain = /[^\t\x20-\x7e]/;

/**
 * Names already found to be tokens: most responses send the same few names, written in the
 * code, and a lookup is cheaper than the pattern. Bounded, as names may come from requests.
 */
const goodNames = new Set<string>();
const mostGoodNames = 256;

function checkName(name: string, where: () => string): void {
  if (goodNames.has(name)) return;
  const problem = headerNameProblem(name);
  if (problem !== undefined) throw new InvalidHeaderError(where(), name, problem);
  if (goodNames.size < mostGoodNames) goodNames.add(name);
}

/** A value with something besides visible ASCII: throws for a control character, else it holds obs-text (true). */
function checkUnusual(text: string, name: string, where: () => string): true {
  const problem = headerValueProblem(text);
  if (problem !== undefined) throw new InvalidHeaderError(where(), name, problem);
  return true;
}

function textOf(value: unknown, name: string, where: () => string): string {
  const text =
    typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  if (text === undefined) {
    throw new InvalidHeaderError(
      where(),
      name,
      `values must be strings, numbers or arrays of strings, got ${describe(value)}`,
    );
  }
  return text;
}

function planBody(body: unknown, where: () => string): BodyPlan {
  if (body == null) return { kind: 'fixed', body: undefined };
  if (typeof body === 'string' || body instanceof Uint8Array) return { kind: 'fixed', body };
  if (typeof body === 'object') {
    if (isObservable(body)) {
      return isPullable(body)
        ? { kind: 'pull', body: body as unknown as AsyncIterable<BodyChunk> }
        : { kind: 'push', body: body as Observable<BodyChunk> };
    }
    if (isAsyncIterable(body)) return { kind: 'pull', body: body as AsyncIterable<BodyChunk> };
  }
  throw new InvalidResponseError(
    where(),
    `body must be a string, Uint8Array, Observable, async iterable, Readable or null, got ${describe(body)}`,
  );
}
