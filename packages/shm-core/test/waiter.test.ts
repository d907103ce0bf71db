import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, uniqueName, leftovers, until } from '@shmkit/testkit';
import { Doorbell, DoorbellGroup, DoorbellState, isShmkitError, Segment, Waiter, WakeHandle,
  type WaitMode, type WakeWatcher } from '../src/index.js';
import { native } from '../src/native.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const code = (c: string) => (e: unknown) => isShmkitError(e, c as never);

/** testkit's spawnFixture has no extra stdio: this one hands `fd` to the child as its fd 3 (eventfd inheritance). */
const extra = new Set<ChildProcess>();
function spawnWithFd(file: string, args: string[], fd: number): { out: Promise<string>; exited: Promise<number | string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  extra.add(proc);
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (c, s) => { extra.delete(proc); resolve(c ?? s ?? -1); }));
  return { out: exited.then(() => out), exited };
}
afterEach(() => { killAll(); for (const p of extra) p.kill('SIGKILL'); extra.clear(); });

function withSegment(label: string, size = 4096) {
  const name = uniqueName(label);
  const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size });
  return { name, seg, done: () => { seg.unlink(); seg.close(); expect(leftovers(name)).toEqual([]); } };
}

/** A segment, its FIFO wake handle (part 'wake') and the claimed doorbell at 64; done() removes all. */
function withFifoBell(label: string) {
  const { name, seg, done } = withSegment(label);
  const wake = WakeHandle.createFifo('shm-core', name, 'wake');
  return { name, seg, wake, bell: claimedBell(seg), done: () => { wake.close(); done(); } };
}

/** The doorbell at 64, claimed by this process with wakeId 1. */
function claimedBell(seg: Segment): Doorbell {
  const bell = Doorbell.at(seg, 64);
  bell.claim(1);
  return bell;
}

describe('Waiter across processes (§8 row 27)', () => {
  const COUNT = 2000;
  const cases: Array<{ mech: 'eventfd' | 'fifo-poll' | 'fifo-socket'; mode: WaitMode }> = [];
  for (const mech of ['eventfd', 'fifo-poll', 'fifo-socket'] as const) for (const mode of ['spin', 'hybrid', 'block'] as const) cases.push({ mech, mode });

  it.each(cases)('$mech, mode $mode: a child producer publishes 2,000 values with random gaps, all arrive in order', async ({ mech, mode }) => {
    const { name, seg, done } = withSegment(`x${mode}`, 16384);
    const wake = mech === 'eventfd' ? WakeHandle.eventfd()
      : WakeHandle.createFifo('shm-core', name, 'wake', { watcher: (mech === 'fifo-socket' ? 'socket' : 'poll') as WakeWatcher });
    try {
      const bell = claimedBell(seg);
      const index = seg.int32(128, 1);
      const values = seg.int32(256, COUNT);
      const waiter = new Waiter(bell, wake, { mode });
      const args = [name, String(COUNT), String(0x5eed + COUNT), mech === 'eventfd' ? 'eventfd' : 'fifo'];
      const child = mech === 'eventfd' ? spawnWithFd(fixture('wait-producer.ts'), args, wake.fd)
        : (() => { const c = spawnFixture(fixture('wait-producer.ts'), args); return { out: c.exited.then(() => c.waitLine((l) => l.startsWith('done'))), exited: c.exited }; })();
      let seen = 0;
      const deadline = Date.now() + 25_000;
      while (seen < COUNT && Date.now() < deadline) {
        const ok = await waiter.wait(() => Atomics.load(index, 0) > seen, { timeoutMs: 25_000 });
        expect(ok).toBe(true);
        const upTo = Atomics.load(index, 0);
        for (; seen < upTo; seen++) expect(values[seen]).toBe(seen * 7 + 1);
      }
      expect(seen).toBe(COUNT);
      expect(await child.exited).toBe(0);
      const rang = Number((await child.out).match(/done (\d+)/)![1]);
      expect(bell.signals).toBe(rang);
      if (mode === 'spin') {
        expect(bell.signals).toBe(0);
        expect(waiter.stats.parks).toBe(0);
      }
      if (mode === 'block') {
        expect(waiter.stats.parks).toBeGreaterThanOrEqual(1);
        expect(bell.signals).toBeLessThanOrEqual(waiter.stats.parks + waiter.stats.lateSignals);
      }
      expect(bell.state).toBe(DoorbellState.Awake);
      waiter.close();
      expect(bell.state).toBe(DoorbellState.Closed);
    } finally { wake.close(); done(); }
  });

  it('waitSync parks on the futex while a child produces (no wake handle at all)', () => {
    const { name, seg, done } = withSegment('xsync', 16384);
    try {
      const bell = claimedBell(seg);
      const index = seg.int32(128, 1);
      const waiter = new Waiter(bell, null, { mode: 'block' });
      const child = spawnFixture(fixture('wait-producer.ts'), [name, '500', '7', 'futex', '300']);
      let seen = 0;
      const deadline = Date.now() + 25_000;
      while (seen < 500 && Date.now() < deadline) {
        expect(waiter.waitSync(() => Atomics.load(index, 0) > seen, { timeoutMs: 25_000 })).toBe(true);
        seen = Atomics.load(index, 0);
      }
      expect(seen).toBe(500);
      expect(waiter.stats.parks).toBeGreaterThanOrEqual(1);
      expect(bell.signals).toBeLessThanOrEqual(waiter.stats.parks + waiter.stats.lateSignals);
      return child.exited.then((c) => { expect(c).toBe(0); waiter.close(); done(); });
    } catch (e) { done(); throw e; }
  });

  it('recheckMs delivers data whose producer was SIGKILLed between publish and ring (§6, row 29)', async () => {
    const { name, seg, done } = withSegment('xrecheck');
    const wake = WakeHandle.eventfd();
    try {
      const bell = claimedBell(seg);
      const data = seg.int32(128, 1);
      const waiter = new Waiter(bell, wake, { mode: 'block', recheckMs: 100 });
      const child = spawnFixture(fixture('publish-no-ring.ts'), [name]);
      const got = waiter.wait(() => Atomics.load(data, 0) === 42, { timeoutMs: 20_000 });
      await child.waitLine((l) => l === 'published');
      child.kill('SIGKILL');
      expect(await got).toBe(true);
      expect(bell.signals).toBe(0);
      expect(waiter.stats.wakes).toBe(0);
      expect(await child.exited).toBe('SIGKILL');
      waiter.close();
    } finally { wake.close(); done(); }
  });
});

describe('no lost wake-up under stress (§5.14)', () => {
  const ROUNDS = 1500;
  it.each([
    { how: 'fd', mode: 'block' }, { how: 'futex', mode: 'block' }, { how: 'fd', mode: 'hybrid' },
  ] as const)('ping-pong $how/$mode, recheckMs 0: 1,500 strict alternations never stall', async ({ how, mode }) => {
    const { name, seg, done } = withSegment('pp');
    const wake = WakeHandle.createFifo('shm-core', name, 'wake-a');
    const toPeer = WakeHandle.fifoSignaller('shm-core', name, 'wake-b');
    try {
      const mine = Doorbell.at(seg, 64), theirs = Doorbell.at(seg, 128);
      mine.claim(1);
      const turn = seg.int32(192, 1);
      const waiter = new Waiter(mine, wake, { mode, recheckMs: 0 });
      const child = spawnFixture(fixture('pingpong-peer.ts'), [name, String(ROUNDS), how, mode]);
      await child.waitLine((l) => l === 'ready');
      const deadline = Date.now() + 25_000;
      let i = 1;
      for (; i <= ROUNDS && Date.now() < deadline; i++) {
        Atomics.store(turn, 0, 2 * i - 1);
        theirs.ring(how === 'fd' ? toPeer : null);
        const want = 2 * i;
        // a lost wake-up on either side leaves this wait asleep until its timeout (recheckMs 0)
        expect(await waiter.wait(() => Atomics.load(turn, 0) === want, { timeoutMs: 10_000 })).toBe(true);
      }
      expect(i).toBe(ROUNDS + 1);
      const line = await child.waitLine((l) => l.startsWith('done'));
      expect(line.startsWith('done true')).toBe(true);
      expect(await child.exited).toBe(0);
      // recheckMs 0: every sleep on either side ended by a wake-up, none by its timeout (a lost wake-up
      // would end one by timeout and still find the data)
      const peer = JSON.parse(line.slice('done true '.length)) as { parks: number; wakes: number };
      expect(peer.parks).toBeGreaterThan(0);
      expect(peer.wakes).toBe(peer.parks);
      expect(waiter.stats.wakes).toBe(waiter.stats.parks);
      // only announced waiters were signalled, at most once per announcement: a park, or a re-check that
      // found the data while the peer's signal was already on its way (counted, drained later as spurious)
      expect(mine.signals).toBeLessThanOrEqual(waiter.stats.parks + waiter.stats.lateSignals);
      waiter.close();
    } finally { toPeer.close(); wake.close(); done(); }
  });

  it('two child producers adding to one counter, one parked consumer: every increment arrives (count + deadline)', async () => {
    const { name, seg, wake, bell, done } = withFifoBell('burst');
    try {
      const index = seg.int32(128, 1);
      const waiter = new Waiter(bell, wake, { mode: 'block', recheckMs: 0 });
      const a = spawnFixture(fixture('wait-producer.ts'), [name, '2000', '1', 'fifo', '20', 'add']);
      const b = spawnFixture(fixture('wait-producer.ts'), [name, '2000', '2', 'fifo', '20', 'add']);
      let rounds = 0;
      const deadline = Date.now() + 25_000;
      for (let last = 0; last < 4000 && Date.now() < deadline && rounds < 100_000; last = Atomics.load(index, 0)) {
        // recheckMs 0: a lost wake-up would leave us asleep until the timeout (the first wait includes child start-up)
        const seen = last;
        expect(await waiter.wait(() => Atomics.load(index, 0) !== seen, { timeoutMs: last === 0 ? 20_000 : 10_000 })).toBe(true);
        rounds++;
      }
      expect(Atomics.load(index, 0)).toBe(4000);
      expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
      const rang = async (c: typeof a) => Number((await c.waitLine((l) => l.startsWith('done'))).split(' ')[1]);
      expect(bell.signals).toBe(await rang(a) + await rang(b));
      expect(bell.signals).toBeLessThanOrEqual(waiter.stats.parks + waiter.stats.lateSignals);
      // recheckMs 0: every sleep ended by a wake-up, none by its timeout
      expect(waiter.stats.parks).toBeGreaterThan(0);
      expect(waiter.stats.wakes).toBe(waiter.stats.parks);
      waiter.close();
    } finally { done(); }
  });
});

describe('DoorbellGroup', () => {
  it('ringAll signals exactly the parked waiters, through the signaller of their wakeId, futex ones without one', async () => {
    const { name, seg, done } = withSegment('group');
    const signallers = new Map<number, WakeHandle>();
    try {
      const bells = [0, 1, 2].map((i) => Doorbell.at(seg, 512 + 64 * i));
      const group = new DoorbellGroup(seg, 256, bells);
      expect(group.ringAll(() => { throw new Error('resolve called with nobody parked'); })).toBe(0);
      const data = seg.int32(1024, 3);
      const kids = [
        spawnFixture(fixture('group-waiter.ts'), [name, '0', '10', 'fd']),
        spawnFixture(fixture('group-waiter.ts'), [name, '1', '11', 'idle']),
        spawnFixture(fixture('group-waiter.ts'), [name, '2', '12', 'futex']),
      ];
      for (const k of kids) await k.waitLine((l) => l === 'ready');
      await until(() => group.parked === 2 && bells[0]!.state === DoorbellState.ParkedFd && bells[2]!.state === DoorbellState.ParkedFutex, 20_000, 'two parked');
      expect(bells[1]!.state).toBe(DoorbellState.Awake);
      // parked means asleep in the kernel: the main thread of each parked child reaches state S (a spinning one never does)
      const taskState = (pid: number) => { const st = readFileSync(`/proc/${pid}/stat`, 'utf8'); return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3); };
      for (const i of [0, 2]) await until(() => taskState(kids[i]!.proc.pid!) === 'S', 10_000, `child ${i} asleep`);
      expect(bells.map((b) => b.wakeId)).toEqual([10, 11, 12]);
      expect(bells.map((b) => b.waiterPid)).toEqual(kids.map((k) => k.proc.pid));
      Atomics.store(data, 0, 1); Atomics.store(data, 1, 1); Atomics.store(data, 2, 1);
      const resolved: number[] = [];
      const n = group.ringAll((id) => {
        resolved.push(id);
        let s = signallers.get(id);
        if (!s) signallers.set(id, (s = WakeHandle.fifoSignaller('shm-core', name, `wake-${id}`)));
        return s;
      });
      expect(n).toBe(2);
      expect(resolved).toEqual([10]);
      expect(bells.map((b) => b.signals)).toEqual([1, 0, 1]);
      for (const i of [0, 2]) expect(await kids[i]!.waitLine((l) => l.startsWith('woken'))).toMatch(/^woken true 1 /);
      await until(() => group.parked === 0, 20_000, 'group counter back to 0');
      expect(group.ringAll(() => { throw new Error('resolve called with nobody parked'); })).toBe(0);
      Atomics.store(data, 1, -1);
      expect(await Promise.all(kids.map((k) => k.exited))).toEqual([0, 0, 0]);
    } finally { for (const s of signallers.values()) s.close(); done(); }
  });
});

describe('Waiter in one process: abort, close, timeout, busy', () => {
  for (const mode of ['spin', 'hybrid', 'block'] as const) {
    it(`mode ${mode}: abort rejects ERR_ABORTED and leaves the doorbell Awake and the group counter 0`, async () => {
      const { seg, done } = withSegment(`ab${mode}`);
      const wake = WakeHandle.eventfd();
      try {
        const bell = claimedBell(seg);
        const parked = seg.int32(48, 1);
        const group = new DoorbellGroup(seg, 48, [bell]);
        const waiter = new Waiter(bell, wake, { mode, spinSliceMs: 1, group: { seg, parkedOffset: 48 } });
        const ac = new AbortController();
        const p = waiter.wait(() => false, { signal: ac.signal, timeoutMs: 20_000 });
        if (mode !== 'spin') await until(() => bell.state === DoorbellState.ParkedFd && group.parked === 1, 10_000, 'parked');
        else await new Promise((r) => setTimeout(r, 5));
        ac.abort(new Error('stop'));
        await expect(p).rejects.toSatisfy(code('ERR_ABORTED'));
        expect(bell.state).toBe(DoorbellState.Awake);
        expect(Atomics.load(parked, 0)).toBe(0);
        // the waiter is usable again; an already-aborted signal rejects at once
        await expect(waiter.wait(() => false, { signal: ac.signal })).rejects.toSatisfy(code('ERR_ABORTED'));
        const data = seg.int32(128, 1);
        const q = waiter.wait(() => Atomics.load(data, 0) === 1, { timeoutMs: 20_000 });
        Atomics.store(data, 0, 1);
        bell.ring(wake);
        expect(await q).toBe(true);
        waiter.close();
      } finally { wake.close(); done(); }
    });

    it(`mode ${mode}: close() while waiting rejects ERR_CLOSED; the doorbell says Closed and ring is a no-op`, async () => {
      const { seg, done } = withSegment(`cl${mode}`);
      const wake = WakeHandle.eventfd();
      try {
        const bell = claimedBell(seg);
        const waiter = new Waiter(bell, wake, { mode, spinSliceMs: 1 });
        const p = waiter.wait(() => false);
        if (mode !== 'spin') await until(() => bell.state === DoorbellState.ParkedFd, 10_000, 'parked');
        else await new Promise((r) => setTimeout(r, 5));
        waiter.close();
        await expect(p).rejects.toSatisfy(code('ERR_CLOSED'));
        expect(bell.state).toBe(DoorbellState.Closed);
        expect(bell.ring(wake)).toBe(false);
        expect(bell.signals).toBe(0);
        await expect(waiter.wait(() => true)).rejects.toSatisfy(code('ERR_CLOSED'));
        expect(() => waiter.waitSync(() => true)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
        waiter.close();
      } finally { wake.close(); done(); }
    });

    it(`mode ${mode}: timeout resolves false; a second concurrent wait is ERR_BUSY`, async () => {
      const { seg, done } = withSegment(`to${mode}`);
      const wake = WakeHandle.eventfd();
      try {
        const bell = claimedBell(seg);
        const waiter = new Waiter(bell, wake, { mode, spinSliceMs: 1 });
        expect(await waiter.wait(() => true, { timeoutMs: 0 })).toBe(true);
        const p = waiter.wait(() => false, { timeoutMs: 30 });
        await expect(waiter.wait(() => true)).rejects.toSatisfy(code('ERR_BUSY'));
        expect(await p).toBe(false);
        expect(waiter.stats.timeouts).toBe(1);
        expect(bell.state).toBe(DoorbellState.Awake);
        expect(waiter.waitSync(() => false, { timeoutMs: 5 })).toBe(false);
        expect(waiter.stats.timeouts).toBe(2);
        waiter.close();
      } finally { wake.close(); done(); }
    });
  }

  it('closing the WakeHandle under a parked wait rejects ERR_CLOSED; closing the segment makes wait ERR_CLOSED', async () => {
    const { seg, done } = withSegment('wclose');
    const wake = WakeHandle.eventfd();
    try {
      const bell = claimedBell(seg);
      const waiter = new Waiter(bell, wake, { mode: 'block' });
      const p = waiter.wait(() => false);
      await until(() => bell.state === DoorbellState.ParkedFd, 10_000, 'parked');
      wake.close();
      await expect(p).rejects.toSatisfy(code('ERR_CLOSED'));
      expect(bell.state).toBe(DoorbellState.Awake);
      seg.unlink(); seg.close();
      await expect(waiter.wait(() => false)).rejects.toSatisfy(code('ERR_CLOSED'));
      waiter.close();
    } finally { wake.close(); if (!seg.closed) done(); }
  });

  it('a stale wake-up (rung after the re-check found data) is one spurious wake, never a lost one', async () => {
    const { seg, done } = withSegment('stale');
    const wake = WakeHandle.eventfd();
    try {
      const bell = claimedBell(seg);
      const data = seg.int32(128, 1);
      const waiter = new Waiter(bell, wake, { mode: 'block' });
      // the producer rings while the waiter is between "parked" and its re-check
      let rung = false;
      expect(await waiter.wait(() => { if (!rung && bell.state === DoorbellState.ParkedFd) { Atomics.store(data, 0, 1); rung = bell.ring(wake); } return Atomics.load(data, 0) === 1; })).toBe(true);
      expect(rung).toBe(true);
      Atomics.store(data, 0, 0);
      const p = waiter.wait(() => Atomics.load(data, 0) === 2, { timeoutMs: 20_000 });
      await until(() => waiter.stats.spuriousWakes === 1 && bell.state === DoorbellState.ParkedFd, 10_000, 'stale wake drained');
      Atomics.store(data, 0, 2);
      expect(bell.ring(wake)).toBe(true);
      expect(await p).toBe(true);
      expect(waiter.stats.wakes).toBe(2);
      waiter.close();
    } finally { wake.close(); done(); }
  });

  it('prepareWait: false when ready; else the wake fd becomes readable after a child rings, finishWait unparks (row 39)', async () => {
    const { name, seg, wake, bell, done } = withFifoBell('prep');
    try {
      const data = seg.int32(128, 1);
      const parked = seg.int32(48, 1);
      const waiter = new Waiter(bell, wake, { mode: 'block', group: { seg, parkedOffset: 48 } });
      expect(waiter.prepareWait(() => true)).toBe(false);
      expect(bell.state).toBe(DoorbellState.Awake);
      expect(Atomics.load(parked, 0)).toBe(0);
      expect(waiter.prepareWait(() => Atomics.load(data, 0) === 99)).toBe(true);
      expect(bell.state).toBe(DoorbellState.ParkedFd);
      expect(Atomics.load(parked, 0)).toBe(1);
      expect(() => waiter.prepareWait(() => false)).toThrow(expect.objectContaining({ code: 'ERR_BUSY' }));
      const n = native();
      expect(n.poll1(wake.fd, 1, 0)).toBe(0);
      const child = spawnFixture(fixture('doorbell-producer.ts'), [name]);
      expect(await child.waitLine((l) => l.startsWith('rang'))).toBe('rang true');
      await until(() => (n.poll1(wake.fd, 1, 0) & 1) === 1, 10_000, 'wake fd readable');
      waiter.finishWait();
      expect(bell.state).toBe(DoorbellState.Awake);
      expect(Atomics.load(parked, 0)).toBe(0);
      expect(n.poll1(wake.fd, 1, 0)).toBe(0);
      waiter.finishWait(); // no-op
      expect(Atomics.load(parked, 0)).toBe(0);
      expect(await child.exited).toBe(0);
      waiter.close();
    } finally { done(); }
  });
});
