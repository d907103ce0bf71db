import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnFixture } from '@shmkit/testkit';
import type { OverrunInfo } from '../src/index.js';
import { cleanup, collect, fixture, fresh, outLine, spawnAt } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });

describe('activation race (44) and overrun accounting (51)', () => {
  for (const point of ['afterLock', 'afterPadCommit', 'afterReserve', 'midCopy', 'afterCommitSeq', 'afterCommit']) {
    it(`44: a reader activating while a writer is paused at rmp.write.${point} loses nothing after its start`, async () => {
      const { name, ch } = fresh(`race-${point}`);
      const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
      for (let i = 0; i < 5; i++) w.write(new Uint8Array(30));
      // the second message's pass (the first for afterPadCommit: only one write needs a PAD)
      const k = await spawnAt('burst.ts', [name, '3', '40', 'pad'], `rmp.write.${point}`, 'pause', point === 'afterPadCommit' ? 1 : 2);
      await k.atPoint(`rmp.write.${point}`);
      const r = ch.createReader();
      k.resume();
      await outLine(k, 'done');
      expect(await k.exited()).toMatchObject({ code: 0 });
      w.write(Uint8Array.of(1)); w.write(Uint8Array.of(2));
      const got = collect(r);
      expect(r.stats.overruns).toBe(0);
      const seqs = got.map((m) => m.seq);
      const end = Number(ch.stats().commitSeq);
      expect(seqs.at(-1)).toBe(end - 1);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      expect(seqs.length).toBeGreaterThanOrEqual(4); // at least burst messages 2 and 3 plus the two after
      ch.close();
    });
  }
  it('51: two writer processes lap a non-draining reader: onOverrun fires once with exact lost bytes and messages', async () => {
    const { name, ch } = fresh('acct51');
    const seen: OverrunInfo[] = [];
    const r = ch.createReader({ autoResync: true, onOverrun: (o) => seen.push(o) });
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    for (let i = 0; i < 3; i++) w.write(new Uint8Array(8));
    expect(collect(r).length).toBe(3);
    const at = ch.stats().freePos;
    const kids = [0, 1].map(() => spawnFixture(fixture('burst.ts'), [name, '100', '40']));
    await Promise.all(kids.map((k) => k.exited));
    const end = ch.stats().freePos;
    expect(collect(r).length).toBe(0);
    expect(seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ reason: 'lapped', lostBytes: Number(end - at), lostMessages: 200, firstLostSeq: 3, resynced: true });
    w.write(Uint8Array.of(7)); w.write(Uint8Array.of(8));
    expect(collect(r).map((m) => [m.seq, m.payload[0]])).toEqual([[203, 7], [204, 8]]);
    expect(seen.length).toBe(1);
    expect(r.stats).toMatchObject({ overruns: 1, lostMessages: 200, lostBytes: Number(end - at) });
    ch.close();
  });
});
