import { describe, expect, it } from 'vitest';

// §8 row 28: an interpreter of the §5.14 doorbell steps for one waiter and 1–3 producers, explored over
// EVERY interleaving of their atomic steps (exhaustive search instead of random sampling: the state
// space is small). Each producer publishes once; the waiter waits until it has consumed all of it.
// Invariants: no reachable state leaves the waiter asleep with data it has not seen and nobody left to
// signal (a lost wake-up), and no park ever receives more than one signal.

const AWAKE = 0, PARKED = 1;
interface Model { recheck: boolean; casBeforeSignal: boolean }
interface S {
  state: number; data: number; consumed: number; pending: number; signalsThisPark: number; parks: number;
  w: 'check' | 'park' | 'recheck' | 'sleep' | 'wake' | 'done';
  p: Array<{ pc: 'publish' | 'load' | 'cas' | 'signal' | 'done'; s: number }>;
}
const key = (s: S) => JSON.stringify(s);
const clone = (s: S): S => ({ ...s, p: s.p.map((q) => ({ ...q })) });

/** The moves enabled in `s`: each is one atomic step of one actor. */
function moves(s: S, total: number, m: Model): S[] {
  const out: S[] = [];
  const w = clone(s);
  switch (s.w) {
    case 'check': // wait() first calls ready(); consumes what is there
      if (w.data > w.consumed) { w.consumed = w.data; w.w = w.consumed === total ? 'done' : 'check'; } else w.w = 'park';
      out.push(w); break;
    case 'park': // step 2: store Parked (bounded: the search needs no more parks than this)
      if (w.parks < 2 * total + 2) { w.state = PARKED; w.parks++; w.signalsThisPark = 0; w.w = m.recheck ? 'recheck' : 'sleep'; out.push(w); }
      break;
    case 'recheck': // step 3
      if (w.data > w.consumed) { w.state = AWAKE; w.w = 'check'; } else w.w = 'sleep';
      out.push(w); break;
    case 'sleep': // step 4: blocked until a signal is pending; the wait drains it
      if (w.pending > 0) { w.pending = 0; w.w = 'wake'; out.push(w); }
      break;
    case 'wake': // step 5
      if (w.state === PARKED) w.state = AWAKE;
      w.w = 'check'; out.push(w); break;
    case 'done': break;
  }
  s.p.forEach((q, i) => {
    const n = clone(s);
    const me = n.p[i]!;
    switch (q.pc) {
      case 'publish': n.data++; me.pc = 'load'; break;
      // a producer commits to signal the current park when its CAS wins (or, without the CAS, when it sees Parked)
      case 'load':
        me.s = n.state;
        me.pc = n.state !== PARKED ? 'done' : m.casBeforeSignal ? 'cas' : 'signal';
        if (me.pc === 'signal') n.signalsThisPark++;
        break;
      case 'cas': if (n.state === me.s) { n.state = AWAKE; n.signalsThisPark++; me.pc = 'signal'; } else me.pc = 'done'; break;
      case 'signal': n.pending++; me.pc = 'done'; break;
      case 'done': return;
    }
    out.push(n);
  });
  return out;
}

/** Explores every interleaving; returns the first violation found, and how many states were visited. */
function explore(producers: number, m: Model): { violation?: string; states: number } {
  const start: S = { state: AWAKE, data: 0, consumed: 0, pending: 0, signalsThisPark: 0, parks: 0, w: 'check',
    p: Array.from({ length: producers }, () => ({ pc: 'publish' as const, s: 0 })) };
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const s = stack.pop()!;
    const k = key(s);
    if (seen.has(k)) continue;
    seen.add(k);
    if (s.signalsThisPark > 1) return { violation: `two signals for one park: ${k}`, states: seen.size };
    const next = moves(s, producers, m);
    if (next.length === 0 && s.w !== 'done') return { violation: `lost wake-up: ${k}`, states: seen.size };
    stack.push(...next);
  }
  return { states: seen.size };
}

describe('doorbell protocol model (§5.14, §8 row 28)', () => {
  for (const producers of [1, 2, 3]) {
    it(`${producers} producer(s): no lost wake-up and at most one signal per park over every interleaving`, () => {
      const r = explore(producers, { recheck: true, casBeforeSignal: true });
      expect(r.violation).toBeUndefined();
      expect(r.states).toBeGreaterThan(10);
    });
  }
  it('the search finds the bugs the protocol prevents: no re-check loses a wake-up, no CAS double-signals', () => {
    expect(explore(1, { recheck: false, casBeforeSignal: true }).violation).toMatch(/^lost wake-up/);
    expect(explore(2, { recheck: true, casBeforeSignal: false }).violation).toMatch(/^two signals/);
  });
});
