import { expect } from 'chai';
import { randomUuid } from '../../src/internal/uuid.js';

describe('randomUuid', () => {
  it('makes version 4 UUIDs in lower-case hex, as crypto.randomUUID does', () => {
    for (let i = 0; i < 1000; i++) {
      expect(randomUuid()).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('never repeats one, across many refills of its entropy', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(randomUuid());
    expect(seen.size).to.equal(100_000);
  });

  it('spreads each random hex digit evenly', () => {
    // 122 random bits a UUID: every digit but the version's should come up about as often.
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      for (const digit of randomUuid().replaceAll('-', '').slice(0, 12))
        counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    const expected = (n * 12) / 16;
    expect(counts.size).to.equal(16);
    for (const [digit, count] of counts) expect(Math.abs(count - expected) / expected, digit).to.be.below(0.1);
  });
});
