/** Errors of the publish/subscribe hub and its buses: RXJET_ERR_INVALID_MESSAGE, _HUB_CLOSED, _BUS, _MISSING_PACKAGE. */
import { RxjetError } from './errors-base.js';
import { InvalidMessageError } from './errors-websocket.js';

/**
 * A value given to `publish` that cannot cross a bus as it was: a `BigInt`, a function, a
 * symbol, a cycle, a number that is not finite, a `Map` or `Set`, bytes inside an object, a string
 * with a lone surrogate, `undefined`. `publish` rejects with it and nothing is delivered anywhere.
 * It is an {@link InvalidMessageError}, with its own code.
 *
 * @example
 * ```ts
 * import { InvalidMessageError } from 'rxjet';
 * import { createHub } from 'rxjet/pubsub';
 *
 * const hub = createHub();
 * await hub
 *   .topic('prices')
 *   .publish({ price: 10n })
 *   .catch((err: unknown) => {
 *     if (err instanceof InvalidMessageError) console.log(err.code); // RXJET_ERR_INVALID_MESSAGE
 *   });
 * ```
 */
export class UnencodableMessageError extends InvalidMessageError {
  /** Always `'RXJET_ERR_INVALID_MESSAGE'`. */
  override readonly code: string = 'RXJET_ERR_INVALID_MESSAGE';
  /** The topic it was published on. */
  readonly topic: string;

  /**
   * @param topic - the topic it was published on
   * @param reason - what cannot be encoded, e.g. `'a BigInt'`
   * @param cause - the error encoding raised, if any
   */
  constructor(topic: string, reason: string, cause?: unknown) {
    super(`topic "${topic}"`, undefined);
    this.message = `Cannot publish on topic "${topic}": the value holds ${reason}, which does not cross a bus as it was.`;
    if (cause !== undefined) this.cause = cause;
    this.topic = topic;
  }
}

/**
 * The hub is closed: `publish` rejects with it and a new subscription errors with it.
 *
 * @example
 * ```ts
 * import { HubClosedError } from 'rxjet';
 * import { createHub } from 'rxjet/pubsub';
 *
 * const hub = createHub();
 * await hub.close();
 * await hub
 *   .topic('news')
 *   .publish('late')
 *   .catch((err: unknown) => console.log(err instanceof HubClosedError)); // true
 * ```
 */
export class HubClosedError extends RxjetError {
  /** The topic that was published on or subscribed to. */
  readonly topic: string;

  /**
   * @param topic - the topic that was published on or subscribed to
   * @param what - `'publish'` or `'subscribe'`
   */
  constructor(topic: string, what: 'publish' | 'subscribe') {
    super('RXJET_ERR_HUB_CLOSED', `Cannot ${what} on topic "${topic}": the hub is closed.`);
    this.topic = topic;
  }
}

/**
 * The bus could not take a message within the hub's `publishTimeout`, or failed a publish or a
 * subscription (a Redis server that is down, a cluster primary that is gone). The bus's own
 * error, if any, is in `cause`. A publish that rejects with it was not delivered, unless the bus
 * had already sent it when the time ran out.
 *
 * @example
 * ```ts
 * import { BusError } from 'rxjet';
 * import { createHub, redisBus } from 'rxjet/pubsub';
 *
 * const hub = createHub({ bus: redisBus({ url: 'redis://127.0.0.1:6379' }), publishTimeout: 1000 });
 * await hub
 *   .topic('orders')
 *   .publish({ id: 1 })
 *   .catch((err: unknown) => {
 *     if (err instanceof BusError) console.log(err.operation, err.message); // publish Could not publish on …
 *   });
 * ```
 */
export class BusError extends RxjetError {
  /** The topic of the failed operation. */
  readonly topic: string;
  /** What failed: a `'publish'`, or the `'subscribe'` that joined the topic on the bus. */
  readonly operation: 'publish' | 'subscribe';

  /**
   * @param topic - the topic of the failed operation
   * @param operation - `'publish'` or `'subscribe'`
   * @param failure - the bus's error, or the milliseconds waited in vain
   */
  constructor(topic: string, operation: 'publish' | 'subscribe', failure: { cause: unknown } | { timeout: number }) {
    super(
      'RXJET_ERR_BUS',
      'timeout' in failure
        ? `Could not ${operation} on topic "${topic}": the bus did not take it within ${failure.timeout} ms.`
        : `Could not ${operation} on topic "${topic}": the bus failed.`,
      'cause' in failure ? { cause: failure.cause } : undefined,
    );
    this.topic = topic;
    this.operation = operation;
  }
}

/**
 * An optional package a feature needs is not installed, e.g. `redis` for `redisBus({ url })`.
 * Thrown at call time; install the package named in `packageName`.
 *
 * @example
 * ```ts
 * import { MissingPackageError } from 'rxjet';
 * import { redisBus } from 'rxjet/pubsub';
 *
 * try {
 *   redisBus({ url: 'redis://127.0.0.1:6379' });
 * } catch (err) {
 *   if (err instanceof MissingPackageError) console.log(`npm install ${err.packageName}`); // npm install redis
 * }
 * ```
 */
export class MissingPackageError extends RxjetError {
  /** The npm package to install. */
  readonly packageName: string;

  /**
   * @param packageName - the npm package to install
   * @param feature - what needs it, e.g. `'redisBus({ url })'`
   * @param cause - the error loading it raised
   */
  constructor(packageName: string, feature: string, cause: unknown) {
    super(
      'RXJET_ERR_MISSING_PACKAGE',
      `${feature} needs the "${packageName}" package, an optional peer dependency of rxjet: npm install ${packageName}`,
      { cause },
    );
    this.packageName = packageName;
  }
}
