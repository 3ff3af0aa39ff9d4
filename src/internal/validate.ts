// Checking options: known names, integers, limits and choices, each with an InvalidOptionError.
import { describe, InvalidOptionError } from './errors.js';

/** Checks that only known option names were given, so a typo fails loudly. */
export function checkKnownOptions(options: object, known: readonly string[] | ReadonlySet<string>, what: string): void {
  const has = Array.isArray(known)
    ? (name: string) => known.includes(name)
    : (name: string) => (known as ReadonlySet<string>).has(name);
  for (const name in options) {
    if (Object.hasOwn(options, name) && !has(name)) {
      throw new InvalidOptionError(name, `one of the ${what} options (${[...known].join(', ')})`);
    }
  }
}

/** An integer option within bounds, or its default when absent. */
export function integerOption(
  options: Record<string, unknown>,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A size limit: a positive integer, or Infinity for none. */
export function limitOption(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (value === Infinity) return value;
  return integerOption(options, name, fallback, 1);
}

/** One of a fixed set of strings. */
export function choiceOption<T extends string>(
  options: Record<string, unknown>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new InvalidOptionError(name, `one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A function option, or undefined. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the function type it expects
export function functionOption<F>(options: Record<string, unknown>, name: string): F | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(name, `a function, got ${typeof value}`);
  return value as F;
}

/** A true/false option. */
export function booleanOption(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, `true or false, got ${describe(value)}`);
  return value;
}
