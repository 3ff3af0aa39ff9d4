/**
 * An HTTP/2 load generator over node:http2's client, counting as h2load does, for machines without h2load.
 *
 * It imports nothing of rxjet, so that it stays an independent peer of the servers it loads.
 *
 * Run:   node --import tsx bench/h2-load.ts <url> (--requests N | --seconds S) [--connections C] [--streams M]
 *        [--ca file.pem] [--insecure]   (-n, -D, -c and -m as h2load spells them; prints the figures as JSON)
 */
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** What to load and how hard: give either `requests` (h2load's -n) or `seconds` (its -D). */
export interface H2LoadOptions {
  /** Requests to complete in all, over every connection (count mode). */
  requests?: number;
  /** How long to keep the streams in flight, in seconds (duration mode). */
  seconds?: number;
  /** HTTP/2 sessions to open, each on a connection of its own (h2load's -c). */
  connections: number;
  /** Concurrent GET streams to keep in flight on each session (h2load's -m). */
  streams: number;
  /** The certificate(s) to trust for an https: URL, as node:tls takes them. */
  ca?: string | Buffer;
  /** Whether to check the server's certificate of an https: URL (default true). */
  rejectUnauthorized?: boolean;
}

/** The figures of one run, named as h2load prints them. */
export interface H2LoadResult {
  /** What the sessions spoke, from their ALPN: `h2` over TLS, `h2c` in cleartext; null if none connected. */
  protocol: 'h2' | 'h2c' | null;
  /** Requests asked for in count mode; requests started in duration mode. */
  total: number;
  /** Streams opened. */
  started: number;
  /** Requests finished, with a whole response or an error (in count mode, also those no session was left for). */
  done: number;
  /** Whole responses with a 2xx or 3xx status. */
  succeeded: number;
  /** Requests done without succeeding: 4xx and 5xx responses and the errored ones. */
  failed: number;
  /** Requests that ended without a whole response: stream, session or connection errors. */
  errored: number;
  /** Whole responses by status class. */
  statuses: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Time from the connected sessions' first stream to the last response (or to the end of the duration). */
  seconds: number;
  /** Whole responses per second of `seconds`. */
  requestsPerSecond: number;
}

/** One connection: its session and the streams it has in flight. */
interface Connection {
  session: ClientHttp2Session;
  inFlight: number;
  /** Set once the session can take no more streams (closed, errored or refused one). */
  dead: boolean;
}

const isCount = (n: number | undefined): boolean => n !== undefined && Number.isInteger(n) && n >= 1;

/** Resolves with the first of `events` that `session` emits, whatever comes after (events.once rejects on 'error'). */
function first(session: ClientHttp2Session, ...events: string[]): Promise<string> {
  return new Promise((resolve) => {
    for (const event of events) session.once(event, () => resolve(event));
  });
}

/**
 * Loads `url` with GET requests over `connections` HTTP/2 sessions keeping `streams` streams in flight on each (https:
 * over TLS with ALPN h2, http: as h2c with prior knowledge) until `requests` are done or `seconds` have passed. Every
 * response body is read to its end; errors count as errored and never reject. Every session is closed on return.
 */
export async function h2Load(url: string | URL, options: H2LoadOptions): Promise<H2LoadResult> {
  const target = new URL(url);
  const { requests, seconds, connections, streams } = options;
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new Error(`not an http(s) URL: ${target.href}`);
  if ((requests === undefined) === (seconds === undefined)) throw new Error('give either requests or seconds');
  if (requests !== undefined && !isCount(requests)) throw new Error(`requests must be an integer >= 1: ${requests}`);
  if (seconds !== undefined && !(seconds > 0)) throw new Error(`seconds must be > 0: ${seconds}`);
  if (!isCount(connections) || !isCount(streams)) throw new Error('connections and streams must be integers >= 1');

  const path = `${target.pathname}${target.search}`;
  const statuses = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  let started = 0;
  let done = 0;
  let errored = 0;
  let protocol: H2LoadResult['protocol'] = null;
  /** Set at the end: streams still in flight then are no longer counted. */
  let stopped = false;
  let finish = (): void => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const tls = {
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  };
  const pool: Connection[] = Array.from({ length: connections }, () => {
    const session = connect(target, tls);
    const connection: Connection = { session, inFlight: 0, dead: false };
    // A session error also ends its streams, which count it; the session is then of no more use.
    session.on('error', () => (connection.dead = true));
    session.once('close', () => {
      connection.dead = true;
      settle();
    });
    session.once('goaway', () => (connection.dead = true));
    return connection;
  });

  /** Ends the run early once every request is done (count mode) or no session is left to carry on. */
  const settle = (): void => {
    if (stopped) return;
    if (done === requests || pool.every((c) => c.dead && c.inFlight === 0)) finish();
  };

  const record = (status: number, whole: boolean): void => {
    done++;
    if (!whole || status < 200 || status >= 600) errored++;
    else if (status < 300) statuses['2xx']++;
    else if (status < 400) statuses['3xx']++;
    else if (status < 500) statuses['4xx']++;
    else statuses['5xx']++;
  };

  /** Opens streams on `connection` until it has `streams` in flight or the run has started all it needs. */
  const fill = (connection: Connection): void => {
    while (!stopped && !connection.dead && connection.inFlight < streams) {
      if (requests !== undefined && started >= requests) return;
      started++;
      connection.inFlight++;
      let stream: ClientHttp2Stream;
      try {
        stream = connection.session.request({ ':method': 'GET', ':path': path });
      } catch {
        // The session went away between two streams (a GOAWAY, a reset connection).
        connection.inFlight--;
        connection.dead = true;
        record(0, false);
        settle();
        return;
      }
      let status = 0;
      let erred = false;
      stream.once('response', (headers: IncomingHttpHeaders) => (status = Number(headers[':status'])));
      stream.on('error', () => (erred = true));
      stream.resume();
      stream.once('close', () => {
        connection.inFlight--;
        if (stopped) return;
        record(status, !erred && stream.readableEnded);
        fill(connection);
        settle();
      });
    }
  };

  // Every session connects (or fails) before the clock starts, so that the figures are those of the requests.
  await Promise.all(
    pool.map(async ({ session }) => {
      const outcome = await first(session, 'connect', 'close');
      const alpn = session.alpnProtocol;
      if (outcome === 'connect' && protocol === null && (alpn === 'h2' || alpn === 'h2c')) protocol = alpn;
    }),
  );
  const start = performance.now();
  const timer = seconds === undefined ? undefined : setTimeout(() => finish(), seconds * 1000);
  for (const connection of pool) fill(connection);
  settle();
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  stopped = true;
  clearTimeout(timer);

  // In count mode, requests no session was left for are done and errored, as h2load counts them.
  if (requests !== undefined) {
    errored += requests - done;
    done = requests;
  }
  // Count mode ends with no stream in flight, so the sessions close gracefully; duration mode cancels what is left.
  await Promise.all(
    pool.map(async ({ session }) => {
      if (session.destroyed) return;
      const closed = first(session, 'close');
      if (requests === undefined) session.destroy();
      else session.close();
      await closed;
    }),
  );

  const succeeded = statuses['2xx'] + statuses['3xx'];
  const responses = succeeded + statuses['4xx'] + statuses['5xx'];
  return {
    protocol,
    total: requests ?? started,
    started,
    done,
    succeeded,
    failed: done - succeeded,
    errored,
    statuses,
    seconds: Number(elapsed.toFixed(3)),
    requestsPerSecond: elapsed > 0 ? Number((responses / elapsed).toFixed(1)) : 0,
  };
}

/** The command line: loads the URL as asked and prints the figures as JSON, for a run in a process of its own. */
async function cli(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', short: 'n' },
      seconds: { type: 'string', short: 'D' },
      connections: { type: 'string', short: 'c', default: '1' },
      streams: { type: 'string', short: 'm', default: '1' },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
    },
  });
  const url = positionals[0];
  if (url === undefined || positionals.length > 1) {
    throw new Error('usage: h2-load.ts <url> (--requests N | --seconds S) [--connections C] [--streams M]');
  }
  const number = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  const result = await h2Load(url, {
    requests: number(values.requests),
    seconds: number(values.seconds),
    connections: Number(values.connections),
    streams: Number(values.streams),
    ...(values.ca !== undefined && { ca: readFileSync(values.ca) }),
    rejectUnauthorized: !values.insecure,
  });
  console.log(JSON.stringify(result));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  });
}
