// `collectFields()`: the fields of a multipart body as one object, checked by a Standard Schema if given.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { from, mergeMap, Observable, of, type OperatorFunction } from 'rxjs';
import { describe, HttpError, InvalidOptionError } from '../internal/errors.js';
import type { FormFields } from './form.js';
import { isPoisonedKey } from './read-body.js';

/**
 * An operator that collects the field parts of a multipart stream into one object, shaped as
 * `form()` gives (no prototype; a repeated name gives an array of its values), and emits it when
 * the stream completes. Anything else in the stream (file parts, what you made of them) is let
 * by: a file part nobody reads is skipped, so `multipart(req).pipe(collectFields())` reads a form
 * of fields alone and drops its files.
 *
 * Given a Standard Schema v1 schema (zod 4, valibot 1, arktype…), the object is checked with it,
 * as the `validate` middleware checks a JSON or urlencoded body, and the schema's output is
 * emitted; when it fails, the stream errors with a 400 `HttpError` naming each issue
 * (`Invalid form fields: title: Too small`). Errors also for a `__proto__`, `constructor` or
 * `prototype` field (400).
 *
 * @param schema - a Standard Schema to check the fields with; none emits the fields as they are
 * @returns an operator from the parts (and whatever else the stream carries) to the fields
 * @example
 * ```ts
 * import { collectFields, multipart } from 'rxjet/server';
 * import { map } from 'rxjs';
 * import { z } from 'zod';
 *
 * const Signup = z.object({ name: z.string().min(1), tags: z.array(z.string()).default([]) });
 * const handler = (req) =>
 *   multipart(req).pipe(
 *     collectFields(Signup),
 *     map(({ name, tags }) => ({ status: 201, body: `${name}: ${tags.join(', ')}` })),
 *   );
 * ```
 */
export function collectFields<S extends StandardSchemaV1 | undefined = undefined>(
  schema?: S,
): OperatorFunction<unknown, CollectedFields<S>> {
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new InvalidOptionError(
      'schema',
      `a Standard Schema v1 schema (zod 4, valibot 1, arktype…), got ${describe(schema)}`,
    );
  }
  const fieldsOf = (source: Observable<unknown>): Observable<FormFields> =>
    new Observable<FormFields>((subscriber) => {
      const fields = Object.create(null) as FormFields;
      return source.subscribe({
        next: (value) => {
          if (!isField(value)) return;
          const { name } = value;
          if (isPoisonedKey(name)) {
            subscriber.error(new HttpError(400, `The form has a forbidden field: ${name}.`));
            return;
          }
          const seen = fields[name];
          if (seen === undefined) fields[name] = value.value;
          else if (Array.isArray(seen)) seen.push(value.value);
          else fields[name] = [seen, value.value];
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          subscriber.next(fields);
          subscriber.complete();
        },
      });
    });
  if (schema === undefined) return fieldsOf as OperatorFunction<unknown, CollectedFields<S>>;
  return (source) =>
    fieldsOf(source).pipe(
      mergeMap((fields) => {
        const result = schema['~standard'].validate(fields);
        // An async schema's thenable is adopted as it is, so one driven by a TestScheduler stays virtual.
        return typeof (result as Partial<PromiseLike<unknown>>).then === 'function'
          ? from(result as PromiseLike<StandardSchemaV1.Result<unknown>>)
          : of(result as StandardSchemaV1.Result<unknown>);
      }),
      mergeMap((result) => {
        if (!result.issues) return of(result.value as CollectedFields<S>);
        const issues = result.issues.map((issue) => {
          const path = (issue.path ?? [])
            .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
            .join('.');
          return path === '' ? issue.message : `${path}: ${issue.message}`;
        });
        throw new HttpError(400, `Invalid form fields: ${issues.join('; ')}`);
      }),
    );
}

/** What {@link collectFields} emits: the schema's output, or the fields as they are when there is no schema. */
export type CollectedFields<S extends StandardSchemaV1 | undefined> = S extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<S>
  : FormFields;

function isField(value: unknown): value is { kind: 'field'; name: string; value: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'field' &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { value?: unknown }).value === 'string'
  );
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const props = (value as Partial<StandardSchemaV1>)['~standard'];
  return props !== undefined && props !== null && props.version === 1 && typeof props.validate === 'function';
}
