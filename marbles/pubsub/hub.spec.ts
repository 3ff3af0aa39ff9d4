import { expect } from 'chai';
import { map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { HubClosedError } from '../../src/index.js';
import { createHub, type Bus } from '../../src/pubsub/index.js';
import { decode, encode } from '../../src/pubsub/codec.js';
import { scheduler } from '../helpers.js';

/** A bus in virtual time: records what the hub asks of it, at which frame, and delivers on demand. */
function fakeBus(testScheduler: TestScheduler): Bus & { log: string[]; deliver(topic: string, value: unknown): void } {
  const log: string[] = [];
  const deliveries = new Map<string, (message: Uint8Array) => void>();
  const at = (): number => testScheduler.now();
  return {
    log,
    deliver: (topic, value) => deliveries.get(topic)?.(encode(topic, value)),
    publish: (topic, message) => void log.push(`${at()} publish ${topic} ${String(decode(message))}`),
    subscribe: (topic, deliver) => {
      log.push(`${at()} subscribe ${topic}`);
      deliveries.set(topic, deliver);
    },
    unsubscribe: (topic) => {
      log.push(`${at()} unsubscribe ${topic}`);
      deliveries.delete(topic);
    },
    close: () => {
      log.push('close'); // called once the hub's close() has run: after the frame, in a microtask
      return Promise.resolve();
    },
  };
}

describe('createHub (virtual time)', () => {
  it('joins the bus once for many subscribers, delivers to those present, and leaves with the last', () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    testScheduler.run(({ hot, expectObservable }) => {
      const topic = createHub({ bus }).topic<string>('t');
      hot('--a--b--c--d--').subscribe((v) => bus.deliver('t', v));
      expectObservable(topic, '^-------!').toBe('--a--b--');
      expectObservable(topic, '---^-------!').toBe('-----b--c---');
    });
    expect(bus.log).to.deep.equal(['0 subscribe t', '11 unsubscribe t']);
  });

  it('joins again when a subscriber comes after the last one left, with no replay', () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    testScheduler.run(({ hot, expectObservable }) => {
      const topic = createHub({ bus }).topic<string>('t');
      hot('-a--b--c-').subscribe((v) => bus.deliver('t', v));
      expectObservable(topic, '^--!').toBe('-a--');
      expectObservable(topic, '-----^--!').toBe('-------c-');
    });
    expect(bus.log).to.deep.equal(['0 subscribe t', '3 unsubscribe t', '5 subscribe t', '8 unsubscribe t']);
  });

  it('keeps topics apart: each joined and left on its own', () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    testScheduler.run(({ hot, expectObservable }) => {
      const hub = createHub({ bus });
      hot('-a-b-').subscribe((v) => bus.deliver(v === 'a' ? 'x' : 'y', v));
      expectObservable(hub.topic('x'), '^---!').toBe('-a---');
      expectObservable(hub.topic('y'), '--^-!').toBe('---b-');
    });
    expect(bus.log).to.deep.equal(['0 subscribe x', '2 subscribe y', '4 unsubscribe x', '4 unsubscribe y']);
  });

  it('sends each publish to the bus encoded, at the frame it is made', () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    testScheduler.run(({ cold }) => {
      const topic = createHub({ bus }).topic<string>('t');
      cold('-a--b|').subscribe((v) => void topic.publish(v));
    });
    expect(bus.log).to.deep.equal(['1 publish t a', '4 publish t b']);
  });

  it('completes every subscriber at the frame the hub closes, and closes the bus once', async () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    let closing: Promise<void> | undefined;
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const hub = createHub({ bus });
      hot('-a---b-').subscribe((v) => bus.deliver('t', v));
      cold('---x').subscribe(() => {
        closing = hub.close();
      });
      expectObservable(hub.topic('t')).toBe('-a-|');
      expectObservable(hub.topic('u')).toBe('---|');
      expectObservable(hub.topic('t'), '-----^').toBe('-----#', undefined, new HubClosedError('t', 'subscribe'));
    });
    await closing;
    // Leaving is the bus's close: no unsubscribe one topic at a time.
    expect(bus.log).to.deep.equal(['0 subscribe t', '0 subscribe u', 'close']);
  });

  it('keeps delivering to the others when one subscriber’s operator throws', () => {
    const testScheduler = scheduler();
    const bus = fakeBus(testScheduler);
    testScheduler.run(({ hot, expectObservable }) => {
      const topic = createHub({ bus }).topic<string>('t');
      hot('-a-b-c-').subscribe((v) => bus.deliver('t', v));
      const failing = topic.pipe(
        map((v) => {
          if (v === 'b') throw new Error('boom');
          return v;
        }),
      );
      expectObservable(failing).toBe('-a-#', undefined, new Error('boom'));
      expectObservable(topic).toBe('-a-b-c-');
    });
    expect(bus.log).to.deep.equal(['0 subscribe t']);
  });
});
