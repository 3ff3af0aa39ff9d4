import { expect } from 'chai';
import { firstValueFrom, take, toArray } from 'rxjs';
import { createClient } from 'redis';
import { BusError, InvalidOptionError } from '../../src/index.js';
import { createHub, redisBus, type Hub } from '../../src/pubsub/index.js';
import { eventually, until, within } from '../helpers.js';
import { numsub, startRedisOrSkip, type RedisServer } from './redis-server.js';

describe('redisBus', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  const hubs: Hub[] = [];
  const hub = (options?: Parameters<typeof redisBus>[0], publishTimeout?: number): Hub => {
    const made = createHub({ bus: redisBus(options ?? { url: redis.url }), publishTimeout });
    hubs.push(made);
    return made;
  };
  /** Resolves once Redis counts `count` subscriber connections on the topic's channel. */
  const subscribers = (topic: string, count: number, ms = 5000): Promise<number> =>
    eventually(
      () => numsub(redis.url, `rxjet:${topic}`),
      (n) => n === count,
      `${count} subscriber(s) of ${topic}`,
      ms,
    );

  before(async function () {
    redis = await startRedisOrSkip(this);
  });
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((h) => h.close()));
  });
  after(async () => {
    await redis?.stop();
  });

  it('carries strings, bytes (views byte-exact) and JSON values between two hubs as published', async () => {
    const a = hub();
    const b = hub();
    const values = [
      'héllo',
      new Uint8Array([7, 0, 1, 2, 255, 7]).subarray(1, 5),
      { n: 1, list: [null, true, 'x'] },
      3.5,
      // Short text goes to Redis as a string and longer as bytes: both arrive as published.
      '😀 ünïcödé',
      'é'.repeat(127) + 'x',
      'é'.repeat(128),
      new TextEncoder().encode('bytes that are also text'),
    ];
    const received = firstValueFrom(b.topic('values').pipe(take(values.length), toArray()));
    await subscribers('values', 1);
    for (const value of values) await a.topic('values').publish(value);
    const got = await within(5000, received, 'the values');
    expect(got[0]).to.equal('héllo');
    expect(got[1]).to.be.instanceOf(Uint8Array);
    expect([...(got[1] as Uint8Array)]).to.deep.equal([0, 1, 2, 255]);
    expect(got.slice(2, 7)).to.deep.equal([
      { n: 1, list: [null, true, 'x'] },
      3.5,
      '😀 ünïcödé',
      'é'.repeat(127) + 'x',
      'é'.repeat(128),
    ]);
    expect(got[7]).to.be.instanceOf(Uint8Array);
    expect(new TextDecoder().decode(got[7] as Uint8Array)).to.equal('bytes that are also text');
  });

  it('delivers a publish made before the first connection to a subscriber of the same hub that joined before it', async () => {
    const a = hub();
    const received = firstValueFrom(a.topic<string>('early'));
    await a.topic('early').publish('first');
    expect(await within(5000, received, 'the message')).to.equal('first');
  });

  it('subscribes once per topic on Redis however many local subscribers, and unsubscribes with the last', async () => {
    const a = hub();
    const topic = a.topic<string>('counted');
    const subscriptions = [1, 2, 3].map(() => topic.subscribe());
    await subscribers('counted', 1);
    subscriptions[0]!.unsubscribe();
    subscriptions[1]!.unsubscribe();
    // Still one subscriber connection, still subscribed: a message still arrives.
    const received = firstValueFrom(topic);
    await topic.publish('still here');
    expect(await within(5000, received, 'the message')).to.equal('still here');
    expect(await numsub(redis.url, 'rxjet:counted')).to.equal(1);
    subscriptions[2]!.unsubscribe();
    await subscribers('counted', 0);
  });

  it('reaches every subscriber exactly once, in publish order', async () => {
    const a = hub();
    const b = hub();
    const count = 200;
    const onA = firstValueFrom(a.topic<number>('ordered').pipe(take(count), toArray()));
    const onB = firstValueFrom(b.topic<number>('ordered').pipe(take(count), toArray()));
    await subscribers('ordered', 2);
    const sent = Array.from({ length: count }, (_, i) => i);
    await Promise.all(sent.map((i) => a.topic('ordered').publish(i)));
    expect(await within(10_000, onA, 'A’s messages')).to.deep.equal(sent);
    expect(await within(10_000, onB, 'B’s messages')).to.deep.equal(sent);
  });

  it('rejects a publish within publishTimeout while Redis is down, and delivers new messages to existing subscribers once it is back', async () => {
    const errors: Error[] = [];
    const a = hub({ url: redis.url, onError: (e) => errors.push(e) }, 500);
    const b = hub({ url: redis.url, onError: (e) => errors.push(e) }, 500);
    const received: string[] = [];
    b.topic<string>('recovery').subscribe((m) => received.push(m));
    await subscribers('recovery', 1);
    await a.topic('recovery').publish('before');
    await until(() => received.length === 1, 'the first message');

    await redis.stop();
    await until(() => errors.length > 0, 'the bus to see Redis go');
    const error = await within(5000, a.topic('recovery').publish('while down'), 'the publish to settle').catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(BusError).and.include({ operation: 'publish', topic: 'recovery' });

    await redis.start();
    // No action from the user: the subscriber connection comes back (after its backoff, at most
    // about 2 s) and resubscribes.
    await subscribers('recovery', 1, 15_000);
    await eventually(
      () =>
        a
          .topic('recovery')
          .publish('after')
          .then(
            () => received.includes('after'),
            () => false,
          ),
      (arrived) => arrived,
      'a message after Redis came back',
      15_000,
    );
    expect(received[0]).to.equal('before');
    expect(received).not.to.include('while down');
  });

  it('closes the connections it made, and never a client it was given', async () => {
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const clientsNow = async (): Promise<number> =>
        (await client.sendCommand<string>(['CLIENT', 'LIST'])).trim().split('\n').length;
      const before = await clientsNow();
      const given = createHub({ bus: redisBus({ client }) });
      const made = createHub({ bus: redisBus({ url: redis.url }) });
      const fromGiven = firstValueFrom(made.topic<string>('owned'));
      given.topic('owned').subscribe();
      await subscribers('owned', 2);
      await given.topic('owned').publish('through your client');
      expect(await within(5000, fromGiven, 'the message')).to.equal('through your client');
      // given: a subscriber duplicate; made: a publisher and a subscriber.
      expect(await clientsNow()).to.equal(before + 2);
      await given.close();
      await made.close();
      await eventually(clientsNow, (n) => n === before, 'the bus connections to close');
      expect(client.isReady).to.equal(true);
      expect(await client.sendCommand(['PING'])).to.equal('PONG');
    } finally {
      client.destroy();
    }
  });
});

// Checked before any connection is made: runs with or without a redis-server.
describe('redisBus options', () => {
  it('throws an InvalidOptionError for a bad option, naming it', () => {
    const url = 'redis://127.0.0.1';
    expect(() => redisBus({})).to.throw(InvalidOptionError, /"url"/);
    expect(() => redisBus({ url, client: createClient() })).to.throw(InvalidOptionError, /"url"/);
    expect(() => redisBus({ url: 'http://x' })).to.throw(InvalidOptionError, /"url"/);
    expect(() => redisBus({ url, prefix: 1 as never })).to.throw(InvalidOptionError, /"prefix"/);
    expect(() => redisBus({ client: {} as never })).to.throw(InvalidOptionError, /"client"/);
  });
});
