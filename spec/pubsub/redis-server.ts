// A real redis-server for the specs: started from PATH on a free port of 127.0.0.1, stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createClient } from 'redis';
import { within } from '../helpers.js';

/** Why the Redis specs cannot run here, or undefined when `redis-server` is on PATH. */
export function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return found.error === undefined && found.status === 0
    ? undefined
    : 'no redis-server on PATH (Redis is a server, not an npm package: `apt-get install redis-server`)';
}

/** A redis-server of this run. `stop()` kills it by its PID; `start()` starts it again on the same port. */
export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1: bound on port 0, read, released. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * For a suite's `before`: starts a redis-server, or, where none is installed, says why and skips
 * the suite (the only skip the suite allows).
 */
export async function startRedisOrSkip(context: Mocha.Context): Promise<RedisServer> {
  const missing = redisMissing();
  if (missing !== undefined) {
    console.log(`    skipped: ${missing}`);
    context.skip();
  }
  return startRedis();
}

/** Starts a redis-server with no persistence on a free port. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child = started;
      let output = '';
      await within(
        10_000,
        new Promise<void>((resolve, reject) => {
          started.stdout.on('data', (chunk: Buffer) => {
            output += String(chunk);
            if (output.includes('Ready to accept connections')) resolve();
          });
          started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
        }),
        `redis-server on port ${port}`,
      );
      started.stdout.resume();
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      process.kill(running.pid!, 'SIGKILL');
      await within(10_000, exited, 'redis-server to exit');
    },
  };
  await server.start();
  return server;
}

/** Subscriber connections of a channel, as the server counts them (PUBSUB NUMSUB). */
export async function numsub(url: string, channel: string): Promise<number> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined); // a failed connect rejects connect() below
  await client.connect();
  try {
    const reply = await client.sendCommand<[string, number]>(['PUBSUB', 'NUMSUB', channel]);
    return reply[1];
  } finally {
    client.destroy();
  }
}
