import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, leftovers, spawnFixture, uniqueName } from '@shmkit/testkit';
import { Segment } from '../src/index.js';
import { run } from './fixtures/atomics-count-run.js';

afterEach(() => killAll());

describe('two real processes doing Atomics on one segment (§8 row 12)', () => {
  it('2 × 1,000,000 adds on an Int32Array and a BigInt64Array, and a CAS spinlock around a plain increment 2 × 200,000', async () => {
    const name = uniqueName('count');
    const seg = Segment.create({ package: 'testkit', name, size: 4096, layoutMajor: 1 });
    try {
      const child = spawnFixture(fileURLToPath(new URL('./fixtures/atomics-count.ts', import.meta.url)), [name, '1000000', '200000']);
      await child.waitLine((l) => l === 'ready');
      const d = seg.dataOffset / 4;
      Atomics.store(seg.i32, d, 1); // go: both sides run at once
      expect(run(seg, 1_000_000, 200_000, Date.now() + 60_000)).toBe('ok');
      expect(await child.waitLine((l) => l.startsWith('done'), 60_000)).toBe('done ok');
      expect(await child.exited).toBe(0);
      expect(Atomics.load(seg.i32, d + 1)).toBe(2_000_000);
      expect(Atomics.load(seg.i64, seg.dataOffset / 8 + 2)).toBe(2_000_000n);
      expect(Atomics.load(seg.i32, d + 3)).toBe(400_000);
      expect(Atomics.load(seg.i32, d + 2)).toBe(0);
    } finally { seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });
});
