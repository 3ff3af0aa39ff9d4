import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { childEnv, within } from '../helpers.js';

const demo = fileURLToPath(new URL('../../examples/demo.ts', import.meta.url));

/** The demo server (`npm start`) in a child process on a free port. */
export interface DemoProcess {
  url: string;
  /** Stops it and waits (bounded) for it to exit. */
  stop: () => Promise<void>;
}

/** Starts the demo as `npm start` does, with PORT=0, and resolves once it listens. */
export async function startDemo(): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', demo], {
    env: childEnv({ PORT: '0', HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await within(
    20_000,
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`the demo exited with ${code}`)));
    }),
    'the demo to listen',
  );
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await within(10_000, exited, 'the demo to exit');
    },
  };
}
