/**
 * The rxjet HTTP client reading a response as it streams in. The response is emitted as soon as
 * its headers arrive; its body is an Observable of chunks, each printed the moment it lands.
 *
 *   node --import tsx examples/client-streaming.ts          streams from a server it starts itself,
 *                                                          which sends five lines 200 ms apart
 *   node --import tsx examples/client-streaming.ts <url>    streams that URL instead
 *
 * It exits once the body has ended, or at once on Ctrl-C (SIGINT) or SIGTERM, which abort the
 * request. PORT (default 0: any free port) and HOST (default 127.0.0.1) choose where its own
 * server listens.
 */
import { createClient, get } from 'rxjet/client';
import { serve, type Server } from 'rxjet/server';
import { firstValueFrom, interval, lastValueFrom, map, take, tap } from 'rxjs';

/** The server it streams from when no URL is given: a line every 200 ms. */
async function startServer(): Promise<Server> {
  const server = await serve({
    port: Number(process.env.PORT ?? 0),
    host: process.env.HOST ?? '127.0.0.1',
    handler: () => ({
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: interval(200).pipe(
        take(5),
        map((i) => `line ${i + 1}\n`),
      ),
    }),
  });
  console.log(`rxjet client-streaming example listening on ${server.url}`);
  return server;
}

const server = process.argv[2] === undefined ? await startServer() : undefined;
const url = process.argv[2] ?? `${server!.url}/lines`;
const client = createClient();
// A signal stops the request, body included, wherever it is.
const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());

const stop = async (code: number): Promise<never> => {
  await Promise.all([client.close(), server?.close({ timeout: 2000 })]);
  process.exit(code);
};

let chunks = 0;
let bytes = 0;
try {
  // The response arrives with its headers; the body is still on its way.
  const res = await firstValueFrom(get(client, url, { signal: abort.signal }));
  console.log(`status ${res.status}, content-type ${String(res.headers['content-type'] ?? 'none')}`);
  const decoder = new TextDecoder();
  await lastValueFrom(
    res.body.pipe(
      tap((chunk) => {
        chunks += 1;
        bytes += chunk.byteLength;
        const text = decoder.decode(chunk, { stream: true });
        console.log(`chunk ${chunks}: ${chunk.byteLength} bytes ${JSON.stringify(text.slice(0, 60))}`);
      }),
    ),
    { defaultValue: undefined },
  );
  console.log(`done: ${chunks} chunks, ${bytes} bytes`);
  await stop(0);
} catch (error) {
  if (!abort.signal.aborted) {
    console.error('the request failed:', error);
    await stop(1);
  }
  console.log(`stopped: ${chunks} chunks, ${bytes} bytes`);
  await stop(0);
}
