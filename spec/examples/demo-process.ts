import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv, within } from '../helpers.js';

/** The path of `examples/<name>.ts`. */
export const examplePath = (name: string): string =>
  fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));

/** An example (`node --import tsx examples/<name>.ts`) running in a child process. */
export interface ExampleProcess {
  /** Everything it has written to stdout so far. */
  output: () => string;
  /** Resolves with the first match of `pattern` in stdout, waiting for it (bounded). */
  waitFor: (pattern: RegExp, what: string, ms?: number) => Promise<RegExpExecArray>;
  /** Resolves with its exit code (null when a signal ended it) once it exits, waiting for that (bounded). */
  exited: (ms?: number) => Promise<number | null>;
  /** Sends it `signal` (SIGTERM by default) and resolves with its exit code once it has exited (bounded). */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** A server example that has printed the URL it listens on. */
export interface ServerProcess extends ExampleProcess {
  url: string;
}

/** Runs `examples/<name>.ts` as a user would, with `node --import tsx`, from the repository root. */
export function runExample(
  name: string,
  options: { env?: Record<string, string>; args?: string[] } = {},
): ExampleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', examplePath(name), ...(options.args ?? [])], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  const exited = (ms = 10_000): Promise<number | null> => within(ms, exit, `examples/${name}.ts to exit`);
  return {
    output: () => out,
    waitFor: (pattern, what, ms = 20_000) =>
      within(
        ms,
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = (): boolean => {
            const match = pattern.exec(out);
            if (match !== null) resolve(match);
            return match !== null;
          };
          if (check()) return;
          const onData = (): void => {
            if (check()) child.stdout.off('data', onData);
          };
          child.stdout.on('data', onData);
          void exit.then((code) => {
            if (!check()) reject(new Error(`examples/${name}.ts exited with ${code} before printing ${what}:\n${out}`));
          });
        }),
        `examples/${name}.ts to print ${what}`,
      ),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited();
    },
  };
}

/**
 * Starts a server example with PORT=0 and HOST=127.0.0.1, and resolves once it prints the URL it
 * listens on (`… listening on http://127.0.0.1:PORT`).
 */
export async function startExample(
  name: string,
  options: { env?: Record<string, string>; args?: string[] } = {},
): Promise<ServerProcess> {
  const example = runExample(name, { ...options, env: { PORT: '0', HOST: '127.0.0.1', ...options.env } });
  try {
    const [, url] = await example.waitFor(/listening on (https?:\/\/\S+)/, 'the URL it listens on');
    return { ...example, url: url! };
  } catch (error) {
    await example.stop('SIGKILL');
    throw error;
  }
}

/** The demo server (`npm start`) in a child process on a free port. */
export interface DemoProcess {
  url: string;
  /** Stops it and waits (bounded) for it to exit. */
  stop: () => Promise<void>;
}

/** Starts the demo as `npm start` does, with PORT=0, and resolves once it listens. */
export async function startDemo(): Promise<DemoProcess> {
  const demo = await startExample('demo');
  return {
    url: demo.url,
    stop: async () => {
      await demo.stop();
    },
  };
}
