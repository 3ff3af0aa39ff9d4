/**
 * What the benchmark scripts share: a server per child process and the IPC with it, killing the children whatever
 * happens, the BENCH_* settings, alternating rounds, medians, tables and the results files.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, get, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Observable } from 'rxjs';
import type { WebSocket } from 'ws';

/** The first argument of a forked script, telling it to run its server instead of the benchmark. */
const CHILD_FLAG = '--bench-child';

/** The body of the hello-world servers, so that a script can check what it reads. */
export const HELLO = 'hello world';

/** A child's first message, so that the parent knows where its server listens. */
interface ReadyMessage {
  type: 'ready';
  port: number;
}

/** A child's answer to a `cpu` request, so that the parent can tell what a server spent on a run. */
interface CpuMessage {
  type: 'cpu';
  /** User plus system CPU time of the server process so far, in microseconds. */
  micros: number;
}

/** A server running in a child process, as the parent knows it. */
export interface ChildServer {
  child: ChildProcess;
  port: number;
}

/** The settings every benchmark reads, so that they have the same names and defaults everywhere. */
interface Settings {
  connections: number;
  rounds: number;
  seconds: number;
  warmup: number;
  appHeapMiB: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings and the entry point.
// ---------------------------------------------------------------------------------------------------------------

/** Reads a whole-number BENCH_* setting, so that a mistyped value fails loudly instead of being ignored. */
export function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads the common settings, in the order of the results files' keys, so that every script has the same defaults. */
export function settings(): Settings {
  const rounds = envInt('BENCH_ROUNDS', 5, 1);
  const seconds = envInt('BENCH_SECONDS', 3, 1);
  const warmup = envInt('BENCH_WARMUP', 2, 0);
  const connections = envInt('BENCH_CONNECTIONS', 50, 1);
  return { connections, rounds, seconds, warmup, appHeapMiB: appHeapMiB() };
}

/**
 * The MiB of state each child holds for its whole life, as a service holds its code, caches and data
 * (`BENCH_APP_HEAP_MIB`, default 0: the bare processes the targets are stated against), the same in every child.
 *
 * It is there to show how much of a figure is V8's heap heuristics rather than the code measured. V8 never starts
 * incremental marking while the old generation is under 8 MiB; above it, once the new space has grown to 16 MiB (as
 * it does under a stream of large buffers), it runs a full collection whenever the old generation's room falls under
 * the new space's size, which for a small heap is every few tens of MiB allocated. A bare node:http or ws server
 * holds about 4 MiB and stays under the line; one that also loads rxjs and rxjet holds about 8 and crosses it. The
 * upload benchmark, same code, one run each: bare, rxjet at 0.95x busboy on one 100 MiB file and 0.58x on 100 files
 * of 1 MiB; at 16 MiB, 0.81x and 1.17x; at 64 MiB, 1.36x and 0.96x (busboy's own CPU per upload from 19 ms bare to
 * 42 ms).
 */
function appHeapMiB(): number {
  return envInt('BENCH_APP_HEAP_MIB', 0, 0);
}

/** Holds `mib` MiB in objects of about 156 bytes each (a record with a string and a small array) until exit. */
function holdAppHeap(mib: number): void {
  const count = Math.round((mib * 1024 * 1024) / 156);
  (globalThis as { benchAppHeap?: unknown }).benchAppHeap = Array.from({ length: count }, (_, i) => ({
    id: i,
    name: `record-${i}`,
    tags: [i % 7, i % 11],
  }));
}

/** Checks a forked child's contender id, so that a child never serves something the parent did not ask for. */
export function contenderId<C extends { id: string }>(contenders: readonly C[], id: string | undefined): C['id'] {
  if (!contenders.some((c) => c.id === id)) throw new Error(`unknown contender ${String(id)}`);
  return id as C['id'];
}

/** Runs a script as the child startChild forked (with its arguments) or else as the parent, killing its children. */
export async function main(
  runChild: (args: string[]) => Promise<void>,
  runParent: () => Promise<void>,
  describeError: (error: unknown) => unknown = (error) => error,
): Promise<void> {
  if (process.argv[2] === CHILD_FLAG) {
    // Exit as soon as the parent goes away, however it ends.
    process.on('disconnect', () => process.exit(0));
    const mib = appHeapMiB();
    if (mib > 0) holdAppHeap(mib);
    await runChild(process.argv.slice(3));
    return;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    await runParent();
  } catch (error) {
    console.error(describeError(error));
    process.exitCode = 1;
  } finally {
    await stopChildren();
  }
  // Sockets the servers' deaths left behind must not keep this process alive.
  process.exit();
}

/** Stops the whole run if it takes far longer than `seconds`, so that a stuck benchmark does not run forever. */
export function watchdog(seconds: number): void {
  setTimeout(() => {
    console.error('The benchmark took far longer than expected: stopping.');
    killChildren();
    process.exit(1);
  }, seconds * 1000).unref();
}

// ---------------------------------------------------------------------------------------------------------------
// Parent side: child processes and IPC.
// ---------------------------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/**
 * Kills one child, so that a server no longer measured does not disturb the next measurements. Under
 * `BENCH_CHILD_NODE_ARGS` (a profiling run, whose figures are not the point) the child is let go instead, so that it
 * writes its profile.
 */
export function killChild(child: ChildProcess): void {
  if (childNodeArgs().length > 0) {
    void letGo(child);
    return;
  }
  children.delete(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** The node options `BENCH_CHILD_NODE_ARGS` adds to every server child. */
function childNodeArgs(): string[] {
  return process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
}

/** Kills every child still running, so that no server outlives the benchmark. */
function killChildren(): void {
  for (const child of children) killChild(child);
}

/** Ends every child the way a run that finished should: each is let go. */
async function stopChildren(): Promise<void> {
  await Promise.all([...children].map(letGo));
}

/**
 * Lets a child go: its IPC channel closed, so that it exits by itself and node writes what `BENCH_CHILD_NODE_ARGS`
 * asked for (a `--cpu-prof` profile); one still running after 10 s is killed.
 */
async function letGo(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode === null && child.signalCode === null && child.connected) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Forks `script` (an import.meta.url) as a child running its server and waits for its port, so that each server has
 * a process and a core of its own; `name` names the server in errors, `execArgv` goes to node.
 *
 * The child runs as users run a server: plain node on JavaScript, with no loader hooks and no source maps. The
 * script is compiled first (esbuild, its local imports bundled, packages and the built `dist/` left as imports)
 * into a file beside it, so that its relative paths still hold. Run under tsx instead, rxjet's server (which ships
 * source maps; the bare baselines do not) measured up to 1.75x its plain CPU per MiB of 64 KiB WebSocket echoes,
 * against 1.4x for bare ws, in alternating rounds.
 *
 * `BENCH_CHILD_NODE_ARGS` adds node options to every server child, to look inside a run: `--cpu-prof`, `--trace-gc`.
 */
export function startChild(
  script: string,
  name: string,
  args: string[] = [],
  execArgv: string[] = [],
): Promise<ChildServer> {
  const extra = childNodeArgs();
  const child = fork(compiledChild(script), [CHILD_FLAG, ...args], {
    execArgv: [...execArgv, ...extra],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    const onMessage = (message: { type: string }): void => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve({ child, port: (message as ReadyMessage).port });
    };
    child.on('message', onMessage);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited early (code ${code ?? 'none'}, signal ${signal ?? 'none'})`));
    });
  });
}

/**
 * A package only the parent uses (the compiler, the load-generating clients), loaded when first used: a server child
 * imports this file too, and must carry only the server it measures. A few MiB of modules more in one contender's
 * heap changes how often V8 collects its old generation, and with it the figures.
 */
const requireHere = createRequire(import.meta.url);

const parentOnly = {
  esbuild: () => requireHere('esbuild') as typeof import('esbuild'),
  ws: () => requireHere('ws') as typeof import('ws'),
};

/** The compiled child of each script, made once per run. */
const compiled = new Map<string, string>();

/**
 * `script` (a bench/*.ts import.meta.url) as one JavaScript file for plain node: `bench/.child-<name>.mjs`, beside
 * it so that `import.meta.url` and the paths relative to it (`../dist/`, `../node_modules/`) mean the same.
 */
function compiledChild(script: string): string {
  const source = fileURLToPath(script);
  let out = compiled.get(source);
  if (out === undefined) {
    out = path.join(path.dirname(source), `.child-${path.basename(source, '.ts')}.mjs`);
    parentOnly.esbuild().buildSync({
      entryPoints: [source],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
      // The package as built, imported as users import it, not bundled into the child.
      external: ['../dist/*'],
    });
    compiled.set(source, out);
  }
  return out;
}

/** Opens one WebSocket client connection (no compression); `emfile` is the error message when out of descriptors. */
function connectOne(url: string, emfile: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new (parentOnly.ws().WebSocket)(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url} did not accept a WebSocket connection within 10 s`));
    }, 10_000);
    ws.once('open', () => {
      clearTimeout(timer);
      ws.removeAllListeners('error');
      // Errors after the handshake are counted by whoever uses the socket; never let one throw.
      ws.on('error', () => undefined);
      resolve(ws);
    });
    ws.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error.code === 'EMFILE' ? new Error(emfile) : error);
    });
  });
}

/**
 * Opens `count` WebSocket client connections, `batch` at a time; closes those already open if one fails. `emfile`
 * is the error message to give when the process runs out of file descriptors.
 */
export async function connectMany(url: string, count: number, batch: number, emfile: string): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  try {
    while (sockets.length < count) {
      const size = Math.min(batch, count - sockets.length);
      const opened = await Promise.allSettled(Array.from({ length: size }, () => connectOne(url, emfile)));
      for (const result of opened) if (result.status === 'fulfilled') sockets.push(result.value);
      const failed = opened.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    return sockets;
  } catch (error) {
    for (const ws of sockets) ws.terminate();
    throw error;
  }
}

/** A request from the parent to a child, or an answer: its `type`, and any parameters. */
export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

/** Waits for a child's message of type `type`, for at most `timeoutMs`; `what` names it in errors. */
export function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  type: T['type'],
  what: string = type,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the child process did not report its ${what} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onMessage = (message: { type: string }): void => {
      if (message.type !== type) return;
      done();
      resolve(message as T);
    };
    const onExit = (): void => {
      done();
      reject(new Error(`the child process exited before reporting its ${what}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Sends a child `request` (a type, or a message with parameters) and waits for its answer of type `answer`, to
 * query or drive a running child.
 */
export function ask<T extends { type: string }>(
  child: ChildProcess,
  request: string | ChildMessage,
  answer: T['type'],
  what: string = answer,
  timeoutMs = 30_000,
): Promise<T> {
  const answered = nextMessage<T>(child, answer, what, timeoutMs);
  child.send(typeof request === 'string' ? { type: request } : request);
  return answered;
}

/** Asks a child for the CPU time it has used so far, in microseconds, to tell what its server spent on a run. */
export async function askCpu(child: ChildProcess): Promise<number> {
  return (await ask<CpuMessage>(child, 'cpu', 'cpu', 'CPU time')).micros;
}

// ---------------------------------------------------------------------------------------------------------------
// Child side: servers and answers.
// ---------------------------------------------------------------------------------------------------------------

/** Tells the parent the port of the child's server, the message startChild waits for. */
export function sendReady(port: number): void {
  const ready: ReadyMessage = { type: 'ready', port };
  process.send?.(ready);
}

/**
 * Answers the parent's requests by type in a child (ignoring others), each answer given the request and its
 * parameters, so that the parent can query or drive the child.
 */
export function answerRequests(answers: Record<string, (request: ChildMessage) => object | Promise<object>>): void {
  process.on('message', (message: ChildMessage) => {
    const answer = answers[message.type];
    if (answer === undefined) return;
    Promise.resolve()
      .then(() => answer(message))
      .then(
        (reply) => process.send?.(reply),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  });
}

/** The CPU time this process has used so far, the answer to a `cpu` request. */
export function cpuTime(): CpuMessage {
  const { user, system } = process.cpuUsage();
  return { type: 'cpu', micros: user + system };
}

/** Waits until a node:http or ws server listens and returns its port, since both are asked for port 0. */
export function listeningPort(server: EventEmitter & { address(): AddressInfo | string | null }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve(address.port);
    });
  });
}

/** Starts a bare node:http server answering HELLO as text/plain: a contender for servers, the server for clients. */
export async function startHelloServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(HELLO);
  });
  server.listen(0, '127.0.0.1');
  return { server, port: await listeningPort(server) };
}

/**
 * Runs a child as the one server of a client benchmark: a bare hello-world node:http server whose idle connections
 * stay open between a contender's rounds (it advertises this to the clients), answering `cpu` requests.
 */
export async function startClientTarget(): Promise<void> {
  const { server, port } = await startHelloServer();
  server.keepAliveTimeout = 120_000;
  answerRequests({ cpu: cpuTime });
  sendReady(port);
}

/**
 * Starts rxjet (the built package, as users run it: the bench scripts build first) answering HELLO as text/plain,
 * from a plain handler or one returning an Observable; returns its port.
 */
export async function startRxjetHello(
  kind: 'plain' | 'observable',
  options: { http2?: boolean } = {},
): Promise<number> {
  const { serve } = await import('../dist/server/index.js');
  const { of } = await import('rxjs');
  const response = { headers: { 'content-type': 'text/plain' }, body: HELLO };
  const server = await serve({
    ...options,
    port: 0,
    host: '127.0.0.1',
    handler: kind === 'plain' ? () => ({ ...response }) : () => of({ ...response }),
  });
  return server.port;
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring and reporting.
// ---------------------------------------------------------------------------------------------------------------

/** Resolves after `ms` milliseconds, to let a run or the servers settle. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a program (with an optional time limit, 0 for none) and resolves with its output, to drive external tools. */
export function exec(file: string, args: string[], timeoutMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** One run of an HTTP load generator against a server. */
export interface LoadSample {
  requestsPerSecond: number;
  /** Non-2xx responses plus connection, read, write and timeout errors. */
  errors: number;
}

/** Request headers a load generator sends with every request, by name. */
export type LoadHeaders = Readonly<Record<string, string>>;

/** An HTTP/1.1 load generator in a process of its own, the same for every contender of a scenario. */
export interface LoadGenerator {
  name: string;
  /** Loads `url` (with the path) over `connections` keep-alive connections for `seconds`, sending `headers`. */
  run(url: string, seconds: number, connections: number, headers?: LoadHeaders): Promise<LoadSample>;
}

/** What to say when neither wrk nor autocannon is there. */
export const NO_LOAD_GENERATOR =
  'No load generator found: install wrk (e.g. apt-get install wrk) or add autocannon to devDependencies.';

/** Whether a command is on the PATH. */
export function onPath(command: string): Promise<boolean> {
  return exec('sh', ['-c', `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

const wrk: LoadGenerator = {
  name: 'wrk',
  async run(url, seconds, connections, headers = {}) {
    const extra = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const out = await exec('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, ...extra, url], (seconds + 30) * 1000);
    const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1];
    if (rate === undefined) throw new Error(`could not read Requests/sec from wrk:\n${out}`);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
    return { requestsPerSecond: Number(rate), errors: non2xx + socketErrors };
  },
};

function autocannon(bin: string): LoadGenerator {
  return {
    name: 'autocannon',
    async run(url, seconds, connections, headers = {}) {
      const extra = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
      const args = ['-j', '-c', String(connections), '-d', String(seconds), ...extra, url];
      const out = await exec(bin, args, (seconds + 30) * 1000);
      const result = JSON.parse(out) as {
        requests: { average: number };
        non2xx: number;
        errors: number;
        timeouts: number;
      };
      return { requestsPerSecond: result.requests.average, errors: result.non2xx + result.errors + result.timeouts };
    },
  };
}

/** wrk if it is on the PATH, else autocannon from node_modules, else undefined. */
export async function pickLoadGenerator(): Promise<LoadGenerator | undefined> {
  if (await onPath('wrk')) return wrk;
  const bin = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));
  if (existsSync(bin)) return autocannon(bin);
  return undefined;
}

/** One plain request, to make sure a server answers HELLO before it is measured. */
export function checkHello(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode === 200 && text === HELLO) resolve();
        else reject(new Error(`${url} answered ${res.statusCode ?? '?'} ${JSON.stringify(text)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`${url} did not answer within 5 s`)));
  });
}

/** A response read whole, for checking what a server answers before it is measured. */
export interface WholeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One GET of `url` with `headers` on a connection of its own, read whole (still encoded, if it was). */
export function getWhole(url: string, headers: LoadHeaders = {}): Promise<WholeResponse> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`${url} did not answer within 5 s`)));
  });
}

/** One run of a client contender against the client benchmarks' server. */
export interface ClientSample {
  requestsPerSecond: number;
  /** CPU time this (client) process spent per completed request, in microseconds. */
  clientMicrosPerRequest: number;
  /** Share of one core the server process used during the run: near 1, the server was the limit. */
  serverBusy: number;
  /** Failed requests, non-200 statuses and wrong bodies. */
  errors: number;
}

/** A client contender: sends one request and reads its body, throwing if anything is not as expected. */
export interface ClientRunner {
  once(): Promise<void>;
  close(): Promise<void>;
}

/** Throws unless a client read a 200 with a body of HELLO's length. */
export function expectHello(status: number, size: number): void {
  if (status !== 200 || size !== HELLO.length) throw new Error(`unexpected response: ${status}, ${size} bytes`);
}

/** Reads a streamed rxjet body to its end; resolves with its size in bytes. */
export function drain(body: Observable<Uint8Array>): Promise<number> {
  return new Promise((resolve, reject) => {
    let size = 0;
    body.subscribe({ next: (chunk) => (size += chunk.byteLength), error: reject, complete: () => resolve(size) });
  });
}

/**
 * `undici.request` over an undici Agent of `connections` connections: the client benchmarks' baseline. (undici is
 * imported here only, so that the servers' children, which also load this file, do not load it.)
 */
export async function undiciRunner(url: string, connections: number): Promise<ClientRunner> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections });
  return {
    async once() {
      const { statusCode, body } = await request(url, { dispatcher: agent });
      expectHello(statusCode, (await body.text()).length);
    },
    close: () => agent.close(),
  };
}

/** Keeps `connections` requests of `runner` in flight for `seconds` against `server`, counting those completed. */
export async function runClientLoad(
  runner: ClientRunner,
  server: ChildServer,
  seconds: number,
  connections: number,
): Promise<ClientSample> {
  let completed = 0;
  let errors = 0;
  const serverBefore = await askCpu(server.child);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        await runner.once();
        completed++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await askCpu(server.child);
  return {
    requestsPerSecond: (completed * 1000) / elapsed,
    clientMicrosPerRequest: completed === 0 ? 0 : (cpu.user + cpu.system) / completed,
    serverBusy: (serverAfter - serverBefore) / (elapsed * 1000),
    errors,
  };
}

/**
 * Measures the contenders in alternating rounds (A B C A B C ...), printing each round's `rate`s, so that a change
 * in the machine's load affects them all alike; returns each contender's samples.
 */
export async function measureRounds<S>(
  contenders: readonly { label: string }[],
  rounds: number,
  measure: (index: number) => Promise<S>,
  rate: (sample: S) => number,
): Promise<S[][]> {
  const samples: S[][] = contenders.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    const line: string[] = [];
    for (const [i, contender] of contenders.entries()) {
      const sample = await measure(i);
      samples[i]!.push(sample);
      line.push(`${contender.label} ${Math.round(rate(sample))}`);
    }
    console.log(`  round ${round}/${rounds}: ${line.join(', ')}`);
  }
  return samples;
}

/** The median of some samples, which one disturbed run moves less than the mean. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A figure relative to the baseline's, to three decimals, as every results file records it. */
export function ratio(value: number, baseline: number): number {
  return Number((value / baseline).toFixed(3));
}

/** The errors of all of a contender's samples, reported beside its figures. */
export function totalErrors(samples: readonly { errors: number }[]): number {
  return samples.reduce((sum, s) => sum + s.errors, 0);
}

/** Where and when the run happened, recorded first in every results file. */
export function machine(): { date: string; node: string; platform: string; cpus: number; cpuModel: string } {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
}

/** Prints the line describing the machine, after a blank one, above the tables. */
export function printMachine(meta: ReturnType<typeof machine>): void {
  console.log();
  console.log(`Node ${meta.node}, ${meta.platform}, ${meta.cpus} CPUs (${meta.cpuModel}), ${meta.date}`);
}

/** Prints rows as a table: a header, a rule, the first column left-aligned and the others right-aligned. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  const format = (row: string[]): string =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
  console.log(format(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(format(row));
}

/** Writes a run's figures to bench/results/<name>-latest.json, so that runs can be compared and kept. */
export async function writeResults(name: string, data: object): Promise<void> {
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}-latest.json`, dir);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`\nWritten to ${fileURLToPath(file).replace(`${process.cwd()}/`, '')}`);
}
