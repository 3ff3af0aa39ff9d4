// The worker side of `cluster()`: runs `start()`, tells the primary, and closes what it started when asked.
import type { ClusterConfig } from './cluster-options.js';

/** The key that marks the IPC messages of `cluster()` among a worker's others (a bus's, the user's). */
export const kClusterMessage = 'rxjet:cluster';

/** What a worker says to its primary, and what the primary asks of it. */
export type ClusterMessage =
  | { [kClusterMessage]: 'listening' }
  | { [kClusterMessage]: 'start-failed'; error: string }
  | { [kClusterMessage]: 'close'; timeout: number };

/** Whether an IPC message is one of `cluster()`'s. */
export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && kClusterMessage in message;
}

/**
 * Runs `start()` in this worker and resolves with its result once it has told the primary that it
 * listens. Closes that result on the primary's request or on SIGTERM/SIGINT (a Ctrl-C reaches every
 * process of the terminal's group), then exits 0 (1 if closing failed). A `start()` that throws or
 * rejects is reported to the primary and the worker exits 1: the Promise then never settles.
 */
export function runWorker<T>(config: ClusterConfig<T>): Promise<T> {
  // Called at once; a throw becomes a rejection.
  const started = (async () => config.start())();
  let closing = false;
  const close = (timeout: number): void => {
    if (closing) return;
    closing = true;
    started.then(
      (value) => closeValue(value, timeout).then(() => process.exit(0), exitFailed),
      () => undefined, // the start failure exits on its own
    );
  };
  const onMessage = (message: unknown): void => {
    if (isClusterMessage(message) && message[kClusterMessage] === 'close') close(message.timeout);
  };
  const onSignal = (): void => close(config.closeTimeout);
  process.on('message', onMessage);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return new Promise<T>((resolve) => {
    started.then(
      (value) => {
        tellPrimary({ [kClusterMessage]: 'listening' });
        resolve(value);
      },
      (error: unknown) => {
        tellPrimary({ [kClusterMessage]: 'start-failed', error: describeError(error) }, () => process.exit(1));
      },
    );
  });
}

/** Closes what `start()` resolved to, if it can be closed. */
async function closeValue(value: unknown, timeout: number): Promise<void> {
  const closable = value as { close?: unknown } | null | undefined;
  if (typeof closable?.close === 'function') await (closable.close as (o: object) => unknown)({ timeout });
}

function exitFailed(error: unknown): void {
  console.error(`rxjet cluster: worker ${process.pid} failed to close:`, error);
  process.exit(1);
}

/** Sends to the primary; `then` runs once sent, or at once if there is no channel (any more). */
function tellPrimary(message: ClusterMessage, then?: () => void): void {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
}

/** The stack of an error (else its text), so that the primary can report it. */
function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
