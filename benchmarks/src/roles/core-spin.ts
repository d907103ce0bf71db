// core.spin-rtt: a round trip through one shm word, both processes busy-spinning on Atomics.load.
import { Segment } from '@shmkit/shm-core';
import { defineRole, type RoleContext } from '../api.js';
import { createSeg, openSeg } from '../lib/core-shm.js';

let seg: Segment, w: Int32Array, ctx: RoleContext, v = 0;

defineRole({
  async setup(c) { ctx = c; seg = c.role === 'echo' ? createSeg(c.name, 4) : openSeg(c.name); w = seg.int32(64, 4); },
  async run(n, warmup) {
    const total = n + warmup, deadline = Date.now() + 30_000;
    if (ctx.role === 'echo') {
      // Answers every odd value with value+1.
      for (let i = 0; i < total; i++) {
        const want = v + 1;
        for (let k = 1; Atomics.load(w, 1) !== want; k++) if ((k & 0xfffff) === 0 && Date.now() > deadline) throw new Error('client stalled');
        v = want + 1;
        Atomics.store(w, 1, v);
      }
      return;
    }
    const lat = new Float64Array(n);
    for (let i = 0; i < total; i++) {
      const t = process.hrtime.bigint();
      v += 1; Atomics.store(w, 1, v); v += 1;
      for (let k = 1; Atomics.load(w, 1) !== v; k++) if ((k & 0xfffff) === 0 && Date.now() > deadline) throw new Error('echo stalled');
      const dt = Number(process.hrtime.bigint() - t);
      if (i >= warmup) lat[i - warmup] = dt;
    }
    return lat;
  },
  async teardown() { if (ctx.role === 'echo') seg.unlink(); seg.close(); },
});
