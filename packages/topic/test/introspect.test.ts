import { afterEach, describe, expect, it } from 'vitest';
import { introspector } from '../src/introspect.js';
import { cleanup, enc, fresh, settle } from './helpers.js';

afterEach(() => { cleanup(); });

describe('41: introspector', () => {
  it('inspect of a live topic channel shows the rmp state plus generation; openCounters gives monotonic messages', async () => {
    expect(introspector.package).toBe('topic');
    expect(introspector.partPattern!.test('wake-3')).toBe(true);
    expect(introspector.partPattern!.test('ring.x')).toBe(false);
    const { name, ch } = fresh('intro41', { ringSize: 4096, maxReaders: 3 });
    const ref = { package: 'topic' as const, name, objects: [] };
    let res = await introspector.inspect(ref, { raw: false });
    expect(res.summary).toMatchObject({ ringSize: 4096, maxReaders: 3, messages: 0n, activeReaders: 0, generation: 0n });
    const got: string[] = [];
    const a = ch.subscribe('/a', (m) => got.push(m.topic));
    ch.subscribe('/b', () => {});
    ch.publish('/a', enc('1')); ch.publish('/zz', enc('2'));
    await settle(ch);
    res = await introspector.inspect(ref, { raw: false });
    expect(res.summary).toMatchObject({ messages: 2n, activeReaders: 1, generation: 2n });
    expect(res.summary.generation).toBe(BigInt(ch.stats().generation));
    expect(res.sections[0]!.rows).toEqual([expect.objectContaining({ slot: ch._reader!.slot, pid: process.pid, active: true })]);
    expect(res.warnings).toEqual([]);
    expect(got).toEqual(['/a']);

    const c = introspector.openCounters!(ref)!;
    try {
      const seen: bigint[] = [c.read().messages!];
      for (let i = 0; i < 5; i++) {
        ch.publish('/a', enc(`m${i}`));
        if (i === 2) a.close();                      // reader deactivated: the stream goes on
        seen.push(c.read().messages!);
      }
      expect(seen).toEqual([2n, 3n, 4n, 5n, 6n, 7n]);
      const s = c.read();
      expect(s.capacity).toBe(4096);
      expect(s.readers).toBe(1);
    } finally { c.close(); }
  });

  it('a missing channel is ERR_NOT_FOUND', async () => {
    await expect(introspector.inspect({ package: 'topic', name: 'shmkit-test-nope-41', objects: [] }, { raw: false }))
      .rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
