// A server for the 1 GiB upload spec, in its own process so its memory can be measured cleanly:
// it streams every file of a multipart upload to a folder and answers with what it wrote and
// the most memory (RSS) it used while doing so. Run with `node --import tsx`; prints its URL.
import { createWriteStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { defer, map, mergeMap, of, toArray } from 'rxjs';
import { multipart, serve, type JetRequest } from '../../src/server/index.js';

const folder = process.argv[2];
if (folder === undefined) throw new Error('usage: multipart-sink.ts <folder>');

let peak = 0;
const sample = (): void => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
setInterval(sample, 10).unref();

const handler = (req: JetRequest) => {
  sample();
  const before = process.memoryUsage().rss;
  peak = before;
  return multipart(req).pipe(
    mergeMap((part) => {
      if (part.kind === 'field') return of({ name: part.name, value: part.value });
      const stored = path.join(folder, randomUUID());
      return defer(() => pipeline(part.body, createWriteStream(stored))).pipe(map(() => ({ name: part.name, stored })));
    }),
    toArray(),
    map((parts) => {
      sample();
      return { body: JSON.stringify({ parts, rssBefore: before, rssPeak: peak }) };
    }),
  );
};

const server = await serve({ handler, port: 0, host: '127.0.0.1' });
console.log(`listening on ${server.url}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
