import { describe, expect, it } from 'vitest';
import { median, runStats } from '../src/stats.js';

const seq = (n: number) => Float64Array.from({ length: n }, (_, i) => n - i); // n..1, unsorted on purpose

describe('nearest-rank statistics', () => {
  it('1 element', () => { expect(runStats(seq(1))).toMatchObject({ n: 1, p50Ns: 1, p99Ns: 1, minNs: 1, maxNs: 1, meanNs: 1 }); });
  it('2 elements: p50 is the lower, p99 the upper', () => { expect(runStats(seq(2))).toMatchObject({ p50Ns: 1, p99Ns: 2 }); });
  it('100 elements', () => { expect(runStats(seq(100))).toMatchObject({ p50Ns: 50, p99Ns: 99, minNs: 1, maxNs: 100, meanNs: 50.5 }); });
  it('101 elements', () => { expect(runStats(seq(101))).toMatchObject({ p50Ns: 51, p99Ns: 100 }); });
  it('rejects an empty run', () => { expect(() => runStats([])).toThrow(RangeError); });
  it('median of runs', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
