import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { createHub, clusterBus } from '../../src/pubsub/index.js';
import { childEnv } from '../helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/cluster-room.ts', import.meta.url));
const blockedFixture = fileURLToPath(new URL('./fixtures/cluster-blocked.ts', import.meta.url));

describe('clusterBus', function () {
  this.timeout(30_000);

  it('carries a publish in one worker to every subscriber in every worker, and the primary, exactly once and in order', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], {
      env: childEnv(),
      timeout: 25_000,
    });
    const result = JSON.parse(stdout) as { primary: unknown[]; workers: { pid: number; subscribers: unknown[][] }[] };
    const expected = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? `message ${i}` : i % 3 === 1 ? { bytes: [i, 0, 255, i] } : { i, list: [i, null] },
    );
    expect(result.workers).to.have.length(2);
    expect(new Set(result.workers.map((w) => w.pid)).size).to.equal(2);
    for (const worker of result.workers) {
      for (const received of worker.subscribers) expect(received).to.deep.equal(expected);
    }
    expect(result.primary).to.deep.equal([...expected, 'end']);
  });

  it('holds a bounded amount in the primary for a worker that reads nothing, and delivers to it again once it reads', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', blockedFixture], {
      env: childEnv(),
      timeout: 25_000,
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(stdout) as { published: number; received: number; rssGrowth: number };
    // 1500 messages of 64 KiB are 128 MiB as base64: the primary holds at most its 8 MiB mark of
    // them (and what the channel's pipe took), and drops the rest for the blocked worker.
    expect(result.published, 'what the publisher’s own subscriber saw').to.equal(1500);
    expect(result.received).to.be.above(0).and.below(300);
    expect(result.rssGrowth).to.be.below(96 * 1024 * 1024); // unbounded: about 170 MiB
  });

  it('acts as a bus shared by the hubs of a process outside a cluster', async () => {
    const a = createHub({ bus: clusterBus() });
    const b = createHub({ bus: clusterBus() });
    const onB = firstValueFrom(b.topic<string>('t'));
    const onA = firstValueFrom(a.topic<string>('t'));
    await a.topic('t').publish('shared');
    expect(await onA).to.equal('shared');
    expect(await onB).to.equal('shared');
    await a.close();
    await b.close();
  });
});
