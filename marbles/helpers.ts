import { expect } from 'chai';
import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { InjectedResponse } from '../src/testing/index.js';

/** A TestScheduler that compares with chai's deep equality. */
export function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** Status and body of each response, for compact marble values. */
export function summary(response$: Observable<InjectedResponse>): Observable<string> {
  return response$.pipe(map((r) => `${r.status} ${r.body}`));
}
