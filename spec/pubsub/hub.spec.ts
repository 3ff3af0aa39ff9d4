import { expect } from 'chai';
import { firstValueFrom, take, toArray } from 'rxjs';
import {
  BusError,
  HubClosedError,
  InvalidMessageError,
  InvalidOptionError,
  UnencodableMessageError,
} from '../../src/index.js';
import { createHub, memoryBus, type Bus } from '../../src/pubsub/index.js';

describe('createHub', () => {
  describe('values', () => {
    const values: [string, unknown][] = [
      ['a string', 'héllo 👋'],
      ['an empty string', ''],
      ['bytes', new Uint8Array([0, 1, 2, 255])],
      ['a JSON object', { a: 1, b: [true, null, 'x'], c: { d: -2.5 } }],
      ['a number', 42],
      ['null', null],
      ['false', false],
      ['an array', [1, 'two', { three: 3 }]],
    ];
    for (const [what, value] of values) {
      it(`delivers ${what} as it was published`, async () => {
        const hub = createHub();
        const topic = hub.topic('t');
        const received = firstValueFrom(topic);
        await topic.publish(value);
        expect(await received).to.deep.equal(value);
        await hub.close();
      });
    }

    it('delivers a Uint8Array view byte-exact, without the rest of its buffer, as a copy', async () => {
      const hub = createHub();
      const topic = hub.topic<Uint8Array>('bytes');
      const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
      const received = firstValueFrom(topic);
      await topic.publish(whole.subarray(2, 5));
      whole.fill(0);
      const bytes = await received;
      expect(bytes).to.be.instanceOf(Uint8Array);
      expect([...bytes]).to.deep.equal([1, 2, 3]);
      await hub.close();
    });

    it('delivers a Date as its JSON string, and leaves out properties set to undefined', async () => {
      const hub = createHub();
      const topic = hub.topic('t');
      const received = firstValueFrom(topic);
      await topic.publish({ at: new Date(0), gone: undefined });
      expect(await received).to.deep.equal({ at: '1970-01-01T00:00:00.000Z' });
      await hub.close();
    });

    const refused: [string, () => unknown, RegExp][] = [
      ['a BigInt', () => ({ n: 1n }), /a BigInt/],
      [
        'a cycle',
        () => {
          const o: Record<string, unknown> = {};
          o.self = o;
          return o;
        },
        /a cycle/,
      ],
      ['a function', () => ({ f: () => 1 }), /a function/],
      ['a symbol', () => [Symbol('s')], /a symbol/],
      ['NaN', () => ({ n: NaN }), /the number NaN/],
      ['undefined', () => undefined, /undefined/],
      ['undefined in an array', () => [1, undefined], /undefined in an array/],
      ['a Map', () => ({ m: new Map() }), /a Map/],
      ['bytes inside an object', () => ({ b: Buffer.from('x') }), /bytes inside an object/],
      ['a lone surrogate', () => '\ud800', /a lone surrogate/],
    ];
    for (const [what, make, reason] of refused) {
      it(`rejects ${what} with an InvalidMessageError and delivers nothing`, async () => {
        const hub = createHub();
        const topic = hub.topic('t');
        const received: unknown[] = [];
        topic.subscribe((v) => received.push(v));
        const error = await topic.publish(make()).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(InvalidMessageError).and.instanceOf(UnencodableMessageError);
        expect(error).to.include({ code: 'RXJET_ERR_INVALID_MESSAGE', name: 'UnencodableMessageError', topic: 't' });
        expect((error as Error).message).to.match(reason);
        await topic.publish('after');
        expect(received).to.deep.equal(['after']);
        await hub.close();
      });
    }
  });

  describe('semantics', () => {
    it('delivers to every subscriber, in publish order, awaited or not', async () => {
      const hub = createHub();
      const topic = hub.topic<number>('t');
      const a = firstValueFrom(topic.pipe(take(100), toArray()));
      const b = firstValueFrom(topic.pipe(take(100), toArray()));
      const sent = Array.from({ length: 100 }, (_, i) => i);
      await Promise.all(sent.map((i) => topic.publish(i)));
      expect(await a).to.deep.equal(sent);
      expect(await b).to.deep.equal(sent);
      await hub.close();
    });

    it('keeps publish order for every subscriber when a subscriber publishes while being delivered to', async () => {
      const hub = createHub();
      const topic = hub.topic<string>('t');
      const first: string[] = [];
      const second: string[] = [];
      topic.subscribe((v) => {
        first.push(v);
        if (v === 'one') void topic.publish('two');
      });
      topic.subscribe((v) => second.push(v));
      await topic.publish('one');
      expect(first).to.deep.equal(['one', 'two']);
      expect(second).to.deep.equal(['one', 'two']);
      await hub.close();
    });

    it('replays nothing to a late subscriber', async () => {
      const hub = createHub();
      const topic = hub.topic<string>('t');
      await topic.publish('before');
      const received: string[] = [];
      topic.subscribe((v) => received.push(v));
      await topic.publish('after');
      expect(received).to.deep.equal(['after']);
      await hub.close();
    });

    it('matches topic names exactly: no prefix or pattern', async () => {
      const hub = createHub();
      const received: string[] = [];
      hub.topic<string>('room').subscribe((v) => received.push(`room ${v}`));
      hub.topic<string>('room:1').subscribe((v) => received.push(`room:1 ${v}`));
      hub.topic<string>('room*').subscribe((v) => received.push(`room* ${v}`));
      await hub.topic('room:1').publish('a');
      await hub.topic('room').publish('b');
      expect(received).to.deep.equal(['room:1 a', 'room b']);
      await hub.close();
    });

    it('stops delivering to a subscriber that unsubscribed, and keeps delivering to the others', async () => {
      const hub = createHub();
      const topic = hub.topic<string>('t');
      const a: string[] = [];
      const b: string[] = [];
      const subA = topic.subscribe((v) => a.push(v));
      topic.subscribe((v) => b.push(v));
      await topic.publish('1');
      subA.unsubscribe();
      await topic.publish('2');
      expect(a).to.deep.equal(['1']);
      expect(b).to.deep.equal(['1', '2']);
      await hub.close();
    });
  });

  describe('close', () => {
    it('completes every subscription, then rejects publish and errors new subscriptions with HubClosedError', async () => {
      const hub = createHub();
      const topic = hub.topic<string>('t');
      const all = firstValueFrom(topic.pipe(toArray()));
      await topic.publish('last');
      const closing = hub.close();
      expect(hub.close()).to.equal(closing);
      await closing;
      expect(hub.closed).to.equal(true);
      expect(await all).to.deep.equal(['last']);
      const published = await topic.publish('late').catch((e: unknown) => e);
      expect(published).to.be.instanceOf(HubClosedError).and.include({ code: 'RXJET_ERR_HUB_CLOSED', topic: 't' });
      const subscribed = await firstValueFrom(hub.topic('u')).catch((e: unknown) => e);
      expect(subscribed).to.be.instanceOf(HubClosedError).and.include({ code: 'RXJET_ERR_HUB_CLOSED', topic: 'u' });
    });
  });

  describe('a bus that cannot take a message', () => {
    /** A bus whose publish never settles (a server that does not answer), recording the signal. */
    function stalledBus(): Bus & { signals: AbortSignal[] } {
      const signals: AbortSignal[] = [];
      return {
        signals,
        publish: (_topic, _message, signal) => {
          signals.push(signal);
          return new Promise<void>(() => undefined);
        },
        subscribe: () => undefined,
        unsubscribe: () => undefined,
        close: () => Promise.resolve(),
      };
    }

    it('rejects publish with a BusError after publishTimeout and aborts the bus’s signal', async () => {
      const bus = stalledBus();
      const hub = createHub({ bus, publishTimeout: 50 });
      const error = await hub
        .topic('t')
        .publish('x')
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(BusError).and.include({ code: 'RXJET_ERR_BUS', operation: 'publish', topic: 't' });
      expect((error as Error).message).to.equal(
        'Could not publish on topic "t": the bus did not take it within 50 ms.',
      );
      expect(bus.signals[0]?.aborted).to.equal(true);
      await hub.close();
    });

    it('rejects publish with a BusError carrying the bus’s own error', async () => {
      const cause = new Error('down');
      const hub = createHub({
        bus: { ...stalledBus(), publish: () => Promise.reject(cause) },
      });
      const error = await hub
        .topic('t')
        .publish('x')
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(BusError).and.include({ operation: 'publish', cause });
      await hub.close();
    });

    it('errors the topic’s subscribers with a BusError when the bus cannot join it, and tries again for the next', async () => {
      const cause = new Error('no subscription');
      const joins: string[] = [];
      const hub = createHub({
        bus: {
          ...stalledBus(),
          subscribe: (topic) => {
            joins.push(topic);
            return joins.length === 1 ? Promise.reject(cause) : undefined;
          },
        },
      });
      const error = await firstValueFrom(hub.topic('t')).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(BusError).and.include({ operation: 'subscribe', topic: 't', cause });
      const completed = firstValueFrom(hub.topic<string>('t').pipe(toArray()));
      expect(joins).to.deep.equal(['t', 't']);
      await hub.close();
      expect(await completed).to.deep.equal([]);
    });
  });

  describe('options', () => {
    it('throws an InvalidOptionError for a bad option, naming it', () => {
      expect(() => createHub({ publishTimeout: 0 })).to.throw(InvalidOptionError, /publishTimeout/);
      expect(() => createHub({ bus: {} as Bus })).to.throw(InvalidOptionError, /"bus"/);
      expect(() => createHub({ buss: memoryBus() } as never)).to.throw(InvalidOptionError, /"buss"/);
      expect(() => createHub().topic('')).to.throw(InvalidOptionError, /"name"/);
    });

    it('refuses a bus another hub already uses', () => {
      const bus = memoryBus();
      createHub({ bus });
      expect(() => createHub({ bus })).to.throw(InvalidOptionError, /no other hub/);
    });
  });
});
