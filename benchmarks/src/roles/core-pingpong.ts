// core.pingpong / core.wake-futex: RTT over one segment, payload copied in and out on both sides.
import { Segment } from '@shmkit/shm-core';
import { defineRole, type ModeLabel, type RoleContext } from '../api.js';
import { DATA, PING, PONG, align64, createSeg, openSeg, postWord, waitWord } from '../lib/core-shm.js';

let seg: Segment, w: Int32Array, ctx: RoleContext, base = 0;
let ping: Uint8Array, pong: Uint8Array, local: Uint8Array, rbuf: Uint8Array;
const deadlineOf = (total: number) => Date.now() + 30_000 + total; // bounded: 30 s plus 1 ms per operation

defineRole({
  async setup(c) {
    ctx = c;
    seg = c.role === 'echo' ? createSeg(c.name, c.size) : openSeg(c.name);
    w = seg.int32(0, 32);
    ping = new Uint8Array(seg.buffer, DATA, c.size);
    pong = new Uint8Array(seg.buffer, DATA + align64(c.size), c.size);
    local = new Uint8Array(c.size); rbuf = new Uint8Array(c.size);
  },
  async run(n, warmup) {
    const mode = (ctx.params.mode as ModeLabel | undefined) ?? ctx.mode;
    const total = n + warmup, size = ctx.size, deadline = deadlineOf(total);
    if (ctx.role === 'echo') {
      for (let i = 1; i <= total; i++) {
        const seq = base + i;
        waitWord(seg, w, PING, seq, mode, deadline);
        local.set(ping); pong.set(local);
        postWord(seg, w, PONG, seq, mode);
      }
      base += total;
      return;
    }
    const lat = new Float64Array(n);
    const div = ctx.scenario.pattern === 'wakeup' ? 2 : 1;
    for (let i = 1; i <= total; i++) {
      const seq = base + i, b = seq & 0xff;
      local.fill(b);
      const t = process.hrtime.bigint();
      ping.set(local);
      postWord(seg, w, PING, seq, mode);
      waitWord(seg, w, PONG, seq, mode, deadline);
      rbuf.set(pong);
      if (size > 0 && (rbuf[0] !== b || rbuf[size - 1] !== b)) throw new Error(`payload mismatch at ${seq}`);
      if ((i & 1023) === 0) for (let k = 0; k < size; k++) if (rbuf[k] !== b) throw new Error(`payload byte ${k} wrong at ${seq}`);
      const dt = Number(process.hrtime.bigint() - t);
      if (i > warmup) lat[i - warmup - 1] = dt / div;
    }
    base += total;
    return lat;
  },
  async teardown() { if (ctx.role === 'echo') seg.unlink(); seg.close(); },
});
