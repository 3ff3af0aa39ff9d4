import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { cluster, clusterCloseMargin, type ClusterEvent, type ClusterOptions } from '../../src/server/index.js';
import { childEnv, eventually, fetchText, until, within } from '../helpers.js';

/*
 * cluster() against real processes: spec/fixtures/cluster-app.ts runs as a user's entry script
 * would, its primary forking real workers that share one port. Everything it does is read from
 * the lines it prints (`<kind> <JSON>`); nothing is timed, every wait is bounded.
 */

const fixture = fileURLToPath(new URL('../fixtures/cluster-app.ts', import.meta.url));

interface Line {
  kind: string;
  value: Record<string, unknown>;
}

/** The fixture's primary in a child process, with what it and its workers printed. */
interface App {
  child: ChildProcess;
  lines: Line[];
  events: () => ClusterEvent[];
  /** The first line (already printed or to come) of `kind` that `match` accepts. */
  line: (kind: string, match: (value: Record<string, unknown>) => boolean, what: string, ms?: number) => Promise<Line>;
  /** The primary's exit code (null when a signal ended it), bounded. */
  exited: (ms: number) => Promise<number | null>;
  /** What the processes wrote on stderr, when asked to keep it (else it is the test run's). */
  stderr: () => string;
}

const apps = new Set<App>();

/**
 * Starts the fixture; `detached` gives it a process group of its own, as a terminal's job has;
 * `stderr` keeps what it writes there.
 */
function startApp(env: Record<string, string> = {}, options: { detached?: boolean; stderr?: boolean } = {}): App {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    // No coverage from the fixture's processes: their tsx transpiles src/ unlike this process's,
    // and merged with it, their counts mark covered lines of every shared file as missed.
    env: childEnv(env),
    stdio: ['ignore', 'pipe', options.stderr === true ? 'pipe' : 'inherit'],
    detached: options.detached === true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines: Line[] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const part of parts) {
      const space = part.indexOf(' ');
      lines.push({ kind: part.slice(0, space), value: JSON.parse(part.slice(space + 1)) as Record<string, unknown> });
    }
  });
  // 'close' rather than 'exit': it comes once stdout is read to its end too.
  let closed = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      resolve(code);
    }),
  );
  const app: App = {
    child,
    lines,
    events: () => lines.filter((l) => l.kind === 'event').map((l) => l.value as unknown as ClusterEvent),
    line: async (kind, match, what, ms = 30_000) => {
      await until(() => lines.some((l) => l.kind === kind && match(l.value)) || closed, what, ms);
      const found = lines.find((l) => l.kind === kind && match(l.value));
      if (found === undefined) throw new Error(`the cluster exited before ${what}:\n${JSON.stringify(lines)}`);
      return found;
    },
    exited: (ms) => within(ms, exit, 'the primary to exit'),
    stderr: () => stderr,
  };
  apps.add(app);
  return app;
}

/** The pids of the workers the fixture's primary forked, as far as its lines tell. */
const forkedPids = (app: App): number[] =>
  app.lines.flatMap((l) => [
    ...(typeof l.value.pid === 'number' ? [l.value.pid] : []),
    ...(Array.isArray(l.value.pids) ? (l.value.pids as number[]) : []),
  ]);

/** Kills, whatever a test left, the primary and every worker it forked. */
function killAll(app: App): void {
  for (const pid of [app.child.pid!, ...forkedPids(app)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function ready(app: App): Promise<{ pids: number[]; port: number }> {
  const { value } = await app.line('ready', () => true, 'every worker to listen');
  const worker = await app.line('worker', () => true, 'a worker to say its port');
  return { pids: value.pids as number[], port: worker.value.port as number };
}

/** Asks `/pid` over new connections until every pid of `wanted` has answered; returns each answer. */
async function answersUntil(port: number, wanted: number[]): Promise<number[]> {
  const seen: number[] = [];
  await eventually(
    async () => {
      seen.push(Number((await fetchText(`http://127.0.0.1:${port}/pid`)).body));
      return seen;
    },
    (answers) => wanted.every((pid) => answers.includes(pid)),
    `workers ${wanted.join(', ')} to answer`,
    20_000,
  );
  return seen;
}

describe('cluster', function () {
  this.timeout(60_000);

  afterEach(() => {
    for (const app of apps) killAll(app);
    apps.clear();
  });

  describe('in real processes', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'rxjet-cluster-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('forks two workers that answer on one shared port, each with its own pid, and the primary serves nothing', async () => {
      const app = startApp();
      const { pids, port } = await ready(app);
      expect(pids).to.have.length(2);
      expect(new Set(pids).size).to.equal(2);
      expect(pids).not.to.include(app.child.pid);
      const ports = app.lines.filter((l) => l.kind === 'worker').map((l) => l.value.port);
      expect(ports).to.deep.equal([port, port]);
      const answers = await answersUntil(port, pids);
      expect(answers.every((pid) => pids.includes(pid))).to.equal(true);
      const second = await app.line('second-call', () => true, 'the second call to fail');
      expect(second.value).to.deep.equal({ code: 'RXJET_ERR_INVALID_OPTION' });
      app.child.kill('SIGTERM');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
    });

    it('carries a clusterBus room across workers: a message from a client on one worker reaches every client on both, once', async () => {
      const app = startApp();
      const { pids, port } = await ready(app);
      // Connections are spread over the workers: open members until both workers hold some.
      const members: { pid: number; client: WebSocket; got: string[] }[] = [];
      await eventually(
        async () => {
          const client = new WebSocket(`ws://127.0.0.1:${port}/room`);
          const got: string[] = [];
          client.on('message', (data: Buffer) => got.push(data.toString()));
          await within(10_000, once(client, 'open'), 'a member to join');
          await until(() => got.length > 0, 'its greeting');
          members.push({ pid: Number(got.shift()!.slice(4)), client, got });
          return members.map((m) => m.pid);
        },
        (seen) => pids.every((pid) => seen.includes(pid)) && seen.length >= 4,
        'members on both workers',
        20_000,
      );
      const sender = members[0]!;
      sender.client.send('hello');
      sender.client.send('last');
      // Per-publisher order: once 'last' is in, a second copy of 'hello' could only have come before it.
      await until(() => members.every((m) => m.got.includes(`${sender.pid}: last`)), 'every member to get both');
      for (const m of members)
        expect(m.got, `member on ${m.pid}`).to.deep.equal([`${sender.pid}: hello`, `${sender.pid}: last`]);
      const closes = members.map((m) => once(m.client, 'close') as Promise<[number, Buffer]>);
      app.child.kill('SIGTERM');
      for (const [code] of await within(10_000, Promise.all(closes), 'every member to be closed'))
        expect(code).to.equal(1001);
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
    });

    it('on SIGTERM lets an in-flight request finish, closes WebSockets with 1001, and exits 0 within the close timeout', async () => {
      const app = startApp({ CLOSE_TIMEOUT: '5000' });
      const { port } = await ready(app);
      const slow = new Promise<{ status: number; body: string; complete: boolean }>((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}/slow`, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body, complete: res.complete }));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      await app.line('slow-started', () => true, 'the slow request to reach a worker');
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const [welcome] = (await within(10_000, once(ws, 'message'), 'the welcome')) as [Buffer];
      expect(String(welcome)).to.match(/^welcome \d+$/);
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;

      app.child.kill('SIGTERM');
      const [code] = await within(10_000, closed, 'the WebSocket to close');
      expect(code).to.equal(1001);
      expect(await within(10_000, slow, 'the slow request to finish')).to.deep.equal({
        status: 200,
        body: 'first\nlast\ndone\n',
        complete: true,
      });
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
      const exits = app.events().filter((event) => event.type === 'exit');
      expect(exits.map((event) => [event.reason, event.code])).to.deep.equal([
        ['closed', 0],
        ['closed', 0],
      ]);
      expect(app.events().at(-1)).to.deep.equal({ type: 'closed', pids: [] });
      expect(app.lines.filter((l) => l.kind === 'close-begun').map((l) => l.value.timeout)).to.deep.equal([5000, 5000]);
    });

    it('closes every worker once and exits 0 on a Ctrl-C, which sends SIGINT to the primary and its workers', async () => {
      const app = startApp({}, { detached: true });
      const { pids } = await ready(app);
      process.kill(-app.child.pid!, 'SIGINT');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
      const events = app.events();
      expect(events.find((e) => e.type === 'closing')).to.deep.include({ signal: 'SIGINT' });
      expect(events.some((e) => e.type === 'restart' || e.type === 'kill')).to.equal(false);
      const exits = events.flatMap((e) => (e.type === 'exit' ? [[e.pid, e.reason, e.code]] : []));
      expect(exits).to.have.deep.members(pids.map((pid) => [pid, 'closed', 0]));
      const closed = app.lines.filter((l) => l.kind === 'close-done').map((l) => l.value.pid);
      expect(closed).to.have.members(pids);
    });

    it('closes every worker gracefully on close(), after which the primary, holding nothing, ends with 0', async () => {
      const app = startApp({ CLOSE_BY_CALL: '1' });
      const { pids } = await ready(app);
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
      expect(app.lines.filter((l) => l.kind === 'close-done').map((l) => l.value.pid)).to.have.members(pids);
      expect(app.lines.at(-1)).to.deep.equal({ kind: 'closed-by-call', value: { pids: [] } });
      expect(app.events().find((e) => e.type === 'closing')).to.deep.equal({ type: 'closing', pids });
    });

    it('replaces a worker killed with SIGKILL at once, and the cluster keeps serving', async () => {
      const app = startApp();
      const { pids, port } = await ready(app);
      const [victim, survivor] = pids as [number, number];
      process.kill(victim, 'SIGKILL');
      const exit = await app.line('event', (e) => e.type === 'exit' && e.pid === victim, 'the killed worker to exit');
      expect(exit.value).to.deep.include({ worker: 0, reason: 'died', code: null, signal: 'SIGKILL' });
      const restart = await app.line('event', (e) => e.type === 'restart', 'the restart');
      expect(restart.value).to.deep.equal({ type: 'restart', worker: 0, delay: 0, failures: 0 });
      const replaced = await app.line(
        'event',
        (e) => e.type === 'listening' && e.worker === 0 && e.pid !== victim,
        'a new worker to listen',
      );
      const fresh = replaced.value.pid as number;
      const answers = await answersUntil(port, [fresh, survivor]);
      expect(answers).not.to.include(victim);
      app.child.kill('SIGTERM');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
    });

    it('closes one worker gracefully on its own SIGTERM, and replaces it', async () => {
      const app = startApp();
      const { pids } = await ready(app);
      process.kill(pids[1]!, 'SIGTERM');
      await app.line('event', (e) => e.type === 'listening' && e.worker === 1 && e.pid !== pids[1], 'a replacement');
      expect(app.lines.some((l) => l.kind === 'close-done' && l.value.pid === pids[1])).to.equal(true);
      const exit = app.events().find((e) => e.type === 'exit');
      expect(exit).to.deep.include({ worker: 1, pid: pids[1], reason: 'died', code: 0, signal: null });
      app.child.kill('SIGTERM');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
    });

    describe('a worker whose start() fails', () => {
      beforeEach(async () => {
        await writeFile(path.join(dir, 'failures'), '');
      });

      it('is restarted with a doubling delay, capped, until it listens; its error is reported', async () => {
        const app = startApp({
          WORKERS: '1',
          RESTART_DELAY: '20',
          MAX_RESTART_DELAY: '50',
          FAIL_FILE: path.join(dir, 'failures'),
          FAIL_STARTS: '4',
        });
        const { pids, port } = await ready(app);
        const events = app.events();
        const restarts = events.flatMap((e) => (e.type === 'restart' ? [[e.failures, e.delay]] : []));
        expect(restarts).to.deep.equal([
          [1, 20],
          [2, 40],
          [3, 50],
          [4, 50],
        ]);
        const exits = events.flatMap((e) => (e.type === 'exit' ? [e] : []));
        expect(exits.map((e) => [e.reason, e.code])).to.deep.equal(Array(4).fill(['start', 1]));
        exits.forEach((e, i) => expect(e.error).to.include(`Error: start ${i + 1} fails on purpose`));
        expect(await answersUntil(port, pids)).to.deep.equal(pids);
        app.child.kill('SIGTERM');
        expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
      });

      it('keeps being restarted, and SIGTERM still ends the cluster with 0 before any worker listened', async () => {
        const app = startApp({
          WORKERS: '1',
          RESTART_DELAY: '20',
          MAX_RESTART_DELAY: '100',
          FAIL_FILE: path.join(dir, 'failures'),
          FAIL_STARTS: '1000000',
        });
        await app.line('event', (e) => e.type === 'restart' && e.failures === 3, 'three failures');
        app.child.kill('SIGTERM');
        expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
        expect(app.lines.some((l) => l.kind === 'ready')).to.equal(false);
        expect(app.events().at(-1)).to.deep.equal({ type: 'closed', pids: [] });
      });
    });

    it('closes a worker that was still loading when SIGTERM came, once it listens, without waiting for the kill', async () => {
      const gate = path.join(dir, 'gate');
      const app = startApp({ WORKERS: '1', CLOSE_TIMEOUT: '5000', GATE_FILE: gate });
      const { value } = await app.line('gated', () => true, 'the worker to load up to the gate');
      app.child.kill('SIGTERM');
      await app.line('event', (e) => e.type === 'closing', 'the shutdown to begin');
      await writeFile(gate, '');
      await app.line('close-done', (v) => v.pid === value.pid, 'the late worker to close');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
      const events = app.events();
      expect(events.some((e) => e.type === 'kill' || e.type === 'listening')).to.equal(false);
      expect(events.find((e) => e.type === 'exit')).to.deep.include({ reason: 'closed', code: 0 });
    });

    it('writes a worker failing to start, its error and its restart on stderr when no onEvent is given', async () => {
      await writeFile(path.join(dir, 'failures'), '');
      const app = startApp(
        { WORKERS: '1', QUIET: '1', FAIL_FILE: path.join(dir, 'failures'), FAIL_STARTS: '1' },
        { stderr: true },
      );
      const { pids, port } = await ready(app);
      expect(app.events()).to.deep.equal([]);
      expect(app.stderr()).to.match(
        /^rxjet cluster: worker 0 \(pid \d+\) failed to start \(code 1\): Error: start 1 fails on purpose\n/,
      );
      expect(app.stderr()).to.include('rxjet cluster: restarting worker 0 in 20 ms\n');
      expect(await answersUntil(port, pids)).to.deep.equal(pids);
      app.child.kill('SIGTERM');
      expect(await app.exited(5000 + clusterCloseMargin)).to.equal(0);
    });

    it('kills a worker that has not exited closeTimeout + clusterCloseMargin after SIGTERM, and still exits 0', async () => {
      const app = startApp({ WORKERS: '1', CLOSE_TIMEOUT: '100', HANG_CLOSE: '1' });
      const { pids } = await ready(app);
      app.child.kill('SIGTERM');
      expect(await app.exited(100 + clusterCloseMargin + 5000)).to.equal(0);
      const events = app.events();
      expect(events.find((e) => e.type === 'kill')).to.deep.equal({ type: 'kill', worker: 0, pid: pids[0] });
      expect(events.find((e) => e.type === 'exit')).to.deep.include({ reason: 'closed', signal: 'SIGKILL' });
    });
  });

  describe('options', () => {
    const bad: [string, Record<string, unknown>][] = [
      ['start', {}],
      ['start', { start: 'serve' }],
      ['workers', { workers: 0 }],
      ['workers', { workers: 1.5 }],
      ['workers', { workers: 2000 }],
      ['closeTimeout', { closeTimeout: -1 }],
      ['restartDelay', { restartDelay: 0 }],
      ['maxRestartDelay', { restartDelay: 500, maxRestartDelay: 100 }],
      ['onEvent', { onEvent: 'log' }],
      ['worker', { worker: 2 }],
    ];
    for (const [option, given] of bad) {
      it(`throws an InvalidOptionError naming "${option}" for ${JSON.stringify(given)}, forking nothing`, () => {
        const options = (option === 'start'
          ? given
          : { start: () => undefined, ...given }) as unknown as ClusterOptions<unknown>;
        let thrown: unknown;
        try {
          void cluster(options);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).to.be.instanceOf(InvalidOptionError);
        expect(thrown).to.include({ option, code: 'RXJET_ERR_INVALID_OPTION' });
      });
    }
  });
});
