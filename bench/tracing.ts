/**
 * What rxjet's `node:diagnostics_channel` tracing costs: nothing while nobody listens, and how much once someone does.
 *
 * rxjet builds and publishes a channel's message only when the channel has subscribers. Two parts, each like the
 * benchmark it mirrors, with the baseline measured in the same run:
 *
 * 1. Server (as bench/server.ts): three servers answer GET / with `hello world` as text/plain, each in its own child
 *    process: bare `node:http` (the baseline), rxjet with a plain handler and no subscribers ("untraced"), and the
 *    same rxjet with a no-op subscriber (it only counts) on every `rxjet:server:*` channel ("traced"), subscribed
 *    before the server starts. The load generator (wrk if it is on the PATH, else autocannon) runs in a process of
 *    its own. Every server is checked to answer `hello world`, and the traced one to have published its events for
 *    that request; after one warm-up run each, alternating rounds; reported: median requests per second, the ratios
 *    untraced / node:http (the target: at least 0.97x, as bench/server.ts holds rxjet to) and traced / untraced,
 *    and the median server CPU time per request.
 * 2. Client (as bench/client.ts): one bare node:http server in a child process; this process keeps
 *    BENCH_CONNECTIONS requests in flight with `undici.request` (the baseline), rxjet `get` reading the streamed body
 *    with no subscribers, and the same with a no-op subscriber on every `rxjet:client:*` channel (subscribed only for
 *    that contender's runs, unsubscribed after). Same check, warm-up and rounds; reported: median requests per second,
 *    the ratios, and the median client CPU time per request, which shows a cost the server's ceiling can hide.
 *
 * The results are also written to bench/results/tracing-latest.json.
 *
 * Run:   npm run bench:tracing (about 2 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 npm run bench:tracing
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50)
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { lastValueFrom } from 'rxjs';
import { createClient, get } from '../dist/client/index.js';
import { diagnosticsChannels } from '../dist/index.js';
import * as lib from './lib.js';

const serverContenders = [
  { id: 'node', label: 'node:http' },
  { id: 'rxjet', label: 'rxjet untraced' },
  { id: 'rxjet-traced', label: 'rxjet traced' },
] as const;

const clientContenders = [
  { id: 'undici', label: 'undici.request' },
  { id: 'rxjet', label: 'rxjet get untraced' },
  { id: 'rxjet-traced', label: 'rxjet get traced' },
] as const;

/** The child argument that makes a child the client part's server rather than one of the server part's. */
const CLIENT_TARGET = 'client-target';

/** Every channel of one side, by prefix, so that a channel added later is subscribed too. */
const channelsOf = (prefix: string): string[] =>
  Object.values(diagnosticsChannels).filter((name) => name.startsWith(prefix));
const serverChannels = channelsOf('rxjet:server:');
const clientChannels = channelsOf('rxjet:client:');

/** Messages the subscribers of this process have received. */
let events = 0;
/** The subscriber: as close to a no-op as lets the benchmark check that events are published. */
const listener = (): void => {
  events++;
};

/** A child's answer to an `events` request. */
interface EventsMessage {
  type: 'events';
  count: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Children: a server of the server part, or the client part's server.
// ---------------------------------------------------------------------------------------------------------------

type ServerId = (typeof serverContenders)[number]['id'];

const servers: Record<ServerId, () => Promise<number>> = {
  async node() {
    return (await lib.startHelloServer()).port;
  },
  rxjet: () => lib.startRxjetHello('plain'),
  'rxjet-traced': () => {
    for (const name of serverChannels) subscribe(name, listener);
    return lib.startRxjetHello('plain');
  },
};

async function runChild(args: string[]): Promise<void> {
  if (args[0] === CLIENT_TARGET) return lib.startClientTarget();
  const port = await servers[lib.contenderId(serverContenders, args[0])]();
  lib.answerRequests({ cpu: lib.cpuTime, events: (): EventsMessage => ({ type: 'events', count: events }) });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the two parts, one after the other.
// ---------------------------------------------------------------------------------------------------------------

type Settings = ReturnType<typeof lib.settings>;

const askEvents = async (server: lib.ChildServer): Promise<number> =>
  (await lib.ask<EventsMessage>(server.child, 'events', 'events', 'event count')).count;

/** The median requests per second of each contender, and their ratios by contender id (`traced / untraced`...). */
function rates(contenders: readonly { id: string }[], samples: readonly { requestsPerSecond: number }[][]) {
  const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
  const of = (id: string): number => medians[contenders.findIndex((c) => c.id === id)]!;
  return { medians, ratio: (id: string, baseline: string): number => lib.ratio(of(id), of(baseline)) };
}

async function serverPart(generator: lib.LoadGenerator, bench: Settings) {
  const { rounds, seconds, warmup, connections } = bench;
  console.log(`\nServer: hello world, ${generator.name}, ${connections} connections`);
  const children = await Promise.all(
    serverContenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])),
  );
  try {
    const urls = children.map((s) => `http://127.0.0.1:${s.port}/`);
    for (const url of urls) await lib.checkHello(url);
    // The check was the traced server's first request: it must have published that request's events.
    const traced = children[serverContenders.findIndex((c) => c.id === 'rxjet-traced')]!;
    const eventsPerRequest = await askEvents(traced);
    if (eventsPerRequest === 0) throw new Error('the traced server published no events: is dist/ up to date?');

    if (warmup > 0) {
      for (const url of urls) await generator.run(url, warmup, connections);
    }
    const samples = await lib.measureRounds(
      serverContenders,
      rounds,
      async (i) => {
        const before = await lib.askCpu(children[i]!.child);
        const sample = await generator.run(urls[i]!, seconds, connections);
        const cpu = (await lib.askCpu(children[i]!.child)) - before;
        return { ...sample, serverMicrosPerRequest: cpu / (sample.requestsPerSecond * seconds) };
      },
      (sample) => sample.requestsPerSecond,
    );
    const totalEvents = await askEvents(traced);

    const { medians, ratio } = rates(serverContenders, samples);
    const results = serverContenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      medianRequestsPerSecond: Math.round(medians[i]!),
      ratio: ratio(contender.id, 'node'),
      medianServerMicrosPerRequest: Number(lib.median(samples[i]!.map((s) => s.serverMicrosPerRequest)).toFixed(2)),
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      errors: lib.totalErrors(samples[i]!),
    }));
    return {
      loadGenerator: generator.name,
      untracedVsNode: ratio('rxjet', 'node'),
      tracedVsUntraced: ratio('rxjet-traced', 'rxjet'),
      tracedVsNode: ratio('rxjet-traced', 'node'),
      eventsPerRequest,
      totalEvents,
      results,
    };
  } finally {
    for (const child of children) lib.killChild(child.child);
  }
}

/** rxjet `get` reading the streamed body, on a client of its own; traced or not is up to the caller. */
function rxjetRunner(url: string, connections: number): lib.ClientRunner {
  const client = createClient({ connections });
  return {
    async once() {
      const res = await lastValueFrom(get(client, url));
      lib.expectHello(res.status, await lib.drain(res.body));
    },
    close: () => client.close(),
  };
}

/** Runs `fn` with the listener subscribed to `channels` if `on`, unsubscribed after. */
async function tracing<T>(on: boolean, channels: readonly string[], fn: () => Promise<T>): Promise<T> {
  if (!on) return fn();
  for (const name of channels) subscribe(name, listener);
  try {
    return await fn();
  } finally {
    for (const name of channels) unsubscribe(name, listener);
  }
}

async function clientPart(bench: Settings) {
  const { rounds, seconds, warmup, connections } = bench;
  console.log(`\nClient: ${connections} requests in flight against one node:http server`);
  const server = await lib.startChild(import.meta.url, 'the server', [CLIENT_TARGET]);
  const url = `http://127.0.0.1:${server.port}/`;
  const runners = await Promise.all(
    clientContenders.map((c) =>
      c.id === 'undici' ? lib.undiciRunner(url, connections) : Promise.resolve(rxjetRunner(url, connections)),
    ),
  );
  const traced = (i: number): boolean => clientContenders[i]!.id === 'rxjet-traced';
  const load = (i: number, secs: number): Promise<lib.ClientSample> =>
    tracing(traced(i), clientChannels, () => lib.runClientLoad(runners[i]!, server, secs, connections));
  try {
    // One request each, to check what every client reads and that the traced one publishes (the listener counts).
    events = 0;
    for (const [i, runner] of runners.entries()) await tracing(traced(i), clientChannels, () => runner.once());
    const eventsPerRequest = events;
    if (eventsPerRequest === 0) throw new Error('the traced client published no events: is dist/ up to date?');

    if (warmup > 0) {
      for (const [i, contender] of clientContenders.entries()) {
        const sample = await load(i, warmup);
        if (sample.errors > 0) console.log(`  warm-up ${contender.label}: ${sample.errors} error(s)`);
      }
    }
    const samples = await lib.measureRounds(
      clientContenders,
      rounds,
      (i) => load(i, seconds),
      (sample) => sample.requestsPerSecond,
    );

    const { medians, ratio } = rates(clientContenders, samples);
    const results = clientContenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      medianRequestsPerSecond: Math.round(medians[i]!),
      ratio: ratio(contender.id, 'undici'),
      medianClientMicrosPerRequest: Number(lib.median(samples[i]!.map((s) => s.clientMicrosPerRequest)).toFixed(2)),
      medianServerBusy: Number(lib.median(samples[i]!.map((s) => s.serverBusy)).toFixed(3)),
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      clientMicrosPerRequest: samples[i]!.map((s) => Number(s.clientMicrosPerRequest.toFixed(2))),
      errors: lib.totalErrors(samples[i]!),
    }));
    const cpu = (id: string): number => results.find((r) => r.id === id)!.medianClientMicrosPerRequest;
    return {
      untracedVsUndici: ratio('rxjet', 'undici'),
      tracedVsUntraced: ratio('rxjet-traced', 'rxjet'),
      tracedCpuVsUntracedCpu: lib.ratio(cpu('rxjet-traced'), cpu('rxjet')),
      eventsPerRequest,
      results,
    };
  } finally {
    await Promise.all(runners.map((runner) => Promise.race([runner.close().catch(() => undefined), lib.delay(5_000)])));
    lib.killChild(server.child);
  }
}

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;
  const generator = await lib.pickLoadGenerator();
  if (generator === undefined) {
    console.error(lib.NO_LOAD_GENERATOR);
    process.exitCode = 1;
    return;
  }
  const estimate = (serverContenders.length + clientContenders.length) * (warmup + rounds * seconds) + 5;
  console.log(
    `rxjet tracing benchmark: ${connections} connections, ${rounds} round(s) of ${seconds} s, ${warmup} s warm-up` +
      ` (about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 60);

  const server = await serverPart(generator, bench);
  const client = await clientPart(bench);
  const meta = { ...lib.machine(), ...bench };

  lib.printMachine(meta);
  console.log();
  lib.printTable([
    ['server (hello world)', 'median req/s', 'vs node:http', 'server CPU/req', 'errors'],
    ...server.results.map((r) => [
      r.label,
      r.medianRequestsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      `${r.medianServerMicrosPerRequest.toFixed(1)} µs`,
      String(r.errors),
    ]),
  ]);
  console.log();
  lib.printTable([
    ['client', 'median req/s', 'vs undici.request', 'client CPU/req', 'errors'],
    ...client.results.map((r) => [
      r.label,
      r.medianRequestsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      `${r.medianClientMicrosPerRequest.toFixed(1)} µs`,
      String(r.errors),
    ]),
  ]);
  console.log();
  lib.printTable([
    ['ratio', 'value'],
    ['server: rxjet untraced / node:http (target >= 0.97x)', `${server.untracedVsNode.toFixed(2)}x`],
    ['server: rxjet traced / rxjet untraced', `${server.tracedVsUntraced.toFixed(2)}x`],
    ['client: rxjet get untraced / undici.request', `${client.untracedVsUndici.toFixed(2)}x`],
    ['client: rxjet get traced / untraced', `${client.tracedVsUntraced.toFixed(2)}x`],
    ['client: CPU per request, traced / untraced', `${client.tracedCpuVsUntracedCpu.toFixed(2)}x`],
  ]);
  console.log(
    `\nEvents per request while traced: server ${server.eventsPerRequest}, client ${client.eventsPerRequest}.`,
  );
  if ([...server.results, ...client.results].some((r) => r.errors > 0)) {
    console.log('\nWarning: some runs had errors or unexpected responses.');
  }
  const busy = client.results.filter((r) => r.medianServerBusy > 0.9);
  if (busy.length > 0) {
    console.log(
      `\nWarning: the server used over 90% of a core during ${busy.map((r) => r.label).join(', ')}: ` +
        'those rates may be the server’s limit rather than the client’s; compare the CPU per request.',
    );
  }

  await lib.writeResults('tracing', { ...meta, server, client });
}

await lib.main(runChild, runParent);
