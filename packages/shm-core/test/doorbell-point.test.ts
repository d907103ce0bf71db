// A waiter paused or SIGKILLed at shm-core.doorbell.afterParkFlag (§5.14 between steps 2 and 3): a producer
// that publishes and rings in that window loses no wake-up, and a waiter that dies there harms nobody.
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { killAll, leftovers, spawnChild, uniqueName, until } from '@shmkit/testkit';
import { Doorbell, DoorbellGroup, DoorbellState, Segment, SHM_DIR, WakeHandle } from '../src/index.js';
import type { P } from './fixtures/park-point.js';

const fixture = new URL('./fixtures/park-point.ts', import.meta.url);
const POINT = 'shm-core.doorbell.afterParkFlag';
afterEach(() => killAll());

/** Layout of park-point.ts: parked counter at 256, doorbell i at 512 + 64 i (wakeId 10 + i), data i at 1024 + 4 i. */
function setup(label: string) {
  const name = uniqueName(label);
  const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
  const bells = [0, 1].map((i) => Doorbell.at(seg, 512 + 64 * i));
  const data = (i: number) => seg.int32(1024 + 4 * i, 1);
  const parked = seg.int32(256, 1);
  const signallers = new Map<number, WakeHandle>();
  const signaller = (wakeId: number) => {
    let s = signallers.get(wakeId);
    if (!s) signallers.set(wakeId, (s = WakeHandle.fifoSignaller('shm-core', name, `wake-${wakeId - 10}`)));
    return s;
  };
  const done = () => {
    for (const s of signallers.values()) s.close();
    // A waiter killed while parked never removed its FIFO.
    for (const i of [0, 1]) rmSync(`${SHM_DIR}/shmkit.shm-core.${name}.wake-${i}`, { force: true });
    seg.unlink(); seg.close();
    expect(leftovers(name)).toEqual([]);
  };
  return { name, seg, bells, data, parked, signaller, done };
}

describe('shm-core.doorbell.afterParkFlag', () => {
  it.each(['fd', 'futex'] as const)('%s: publish + ring while the waiter is paused after its park flag → its re-check sees the data', async (how) => {
    const t = setup(`dbp${how}`);
    try {
      const c = await spawnChild<P>(fixture, { args: [t.name, '0', how], points: [{ name: POINT, action: 'pause' }] });
      await c.atPoint(POINT);
      expect(t.bells[0]!.state).toBe(how === 'fd' ? DoorbellState.ParkedFd : DoorbellState.ParkedFutex);
      expect(Atomics.load(t.parked, 0)).toBe(1);
      Atomics.store(t.data(0), 0, 42);
      expect(t.bells[0]!.ring(how === 'fd' ? t.signaller(10) : null)).toBe(true);
      expect(t.bells[0]!.state).toBe(DoorbellState.Awake);
      c.resume();
      const w = await c.next('woken');
      expect(w).toMatchObject({ ok: true, value: 42 });
      expect(w.stats.parks).toBe(0); // step 3 found the data: it never slept
      expect(w.stats.timeouts).toBe(0);
      await c.exited();
      expect(Atomics.load(t.parked, 0)).toBe(0);
      expect(t.bells[0]!.signals).toBe(1);
    } finally { t.done(); }
  });

  it.each(['fd', 'futex'] as const)('%s: a waiter SIGKILLed after its park flag harms neither the producer nor the other waiter', async (how) => {
    const t = setup(`dbk${how}`);
    try {
      const dead = await spawnChild<P>(fixture, { args: [t.name, '0', how], points: [{ name: POINT, action: 'kill' }] });
      expect(await dead.killed).toMatchObject({ name: POINT, signal: 'SIGKILL' });
      const live = await spawnChild<P>(fixture, { args: [t.name, '1', how] });
      await until(() => t.bells[1]!.state !== DoorbellState.Awake, 20_000, 'second waiter parked');
      // The dead waiter's flag and group count stay behind: producers will ring it once, harmlessly.
      expect(t.bells[0]!.state).toBe(how === 'fd' ? DoorbellState.ParkedFd : DoorbellState.ParkedFutex);
      expect(Atomics.load(t.parked, 0)).toBe(2);
      Atomics.store(t.data(0), 0, 7);
      Atomics.store(t.data(1), 0, 8);
      const group = new DoorbellGroup(t.seg, 256, t.bells);
      expect(group.ringAll((id) => t.signaller(id))).toBe(2);
      if (how === 'fd') expect(t.signaller(10).signal()).toBe(false); // nobody reads the dead waiter's FIFO
      const w = await live.next('woken');
      expect(w).toMatchObject({ ok: true, value: 8 });
      await live.exited();
      expect(t.bells.map((b) => b.state)).toEqual([DoorbellState.Awake, DoorbellState.Closed]);
      expect(group.ringAll((id) => t.signaller(id))).toBe(0); // nobody parked any more: no signal
      expect(t.bells[0]!.signals).toBe(1);
    } finally { t.done(); }
  });
});
