// In-process delivery in publish order, even when a subscriber publishes while being delivered to.

/**
 * Wraps a synchronous `deliver` so that a publish made from inside a delivery waits until the
 * one in progress has reached every subscriber: without it, the subscribers after the
 * re-publishing one would see the second message before the first.
 */
export function deliveryQueue(
  deliver: (topic: string, message: Uint8Array) => void,
): (topic: string, message: Uint8Array) => void {
  const waiting: [string, Uint8Array][] = [];
  let delivering = false;
  return (topic, message) => {
    if (delivering) {
      waiting.push([topic, message]);
      return;
    }
    delivering = true;
    try {
      deliver(topic, message);
      for (let i = 0; i < waiting.length; i++) deliver(...waiting[i]!);
    } finally {
      waiting.length = 0;
      delivering = false;
    }
  };
}
