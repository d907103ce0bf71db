// core.wake-fifo / core.wake-eventfd: a parked event loop woken by another process through a
// WakeHandle watched by libuv; both sides park, so half a round trip is one wake-up.
import { WakeHandle } from '@shmkit/shm-core';
import { defineRole, type RoleContext } from '../api.js';

let ctx: RoleContext;
let mine: WakeHandle | undefined, peer: WakeHandle | undefined;

/** WakeHandle over an inherited eventfd (WakeHandle.fromFd when shm-core has it). */
function adoptEventfd(fd: number): WakeHandle {
  const W = WakeHandle as unknown as { fromFd?: (fd: number, kind: 'eventfd', o?: object) => WakeHandle };
  if (typeof W.fromFd === 'function') return W.fromFd(fd, 'eventfd', { takeOwnership: true });
  return new (WakeHandle as unknown as new (k: string, r: string, fd: number) => WakeHandle)('eventfd', 'both', fd);
}

defineRole({
  async setup(c) {
    ctx = c;
    const echo = c.role === 'echo';
    if (c.params.mech === 'eventfd') {
      // fd 4 wakes the echo, fd 5 wakes the client.
      const [toEcho, toClient] = c.fds as [number, number];
      mine = adoptEventfd(echo ? toEcho : toClient);
      peer = adoptEventfd(echo ? toClient : toEcho);
    } else {
      mine = WakeHandle.createFifo('benchmarks', c.name, echo ? 'b' : 'a');
      peer = WakeHandle.fifoSignaller('benchmarks', c.name, echo ? 'a' : 'b');
    }
  },
  async run(n, warmup) {
    const total = n + warmup, m = mine!, p = peer!;
    if (ctx.role === 'echo') {
      for (let i = 0; i < total; i++) {
        if (!(await m.wait({ timeoutMs: 10_000 }))) throw new Error('wake-up lost');
        if (!p.signal()) throw new Error('client not reachable');
      }
      return;
    }
    const lat = new Float64Array(n);
    for (let i = 0; i < total; i++) {
      const t = process.hrtime.bigint();
      if (!p.signal()) throw new Error('echo not reachable');
      if (!(await m.wait({ timeoutMs: 10_000 }))) throw new Error('wake-up lost');
      const dt = Number(process.hrtime.bigint() - t);
      if (i >= warmup) lat[i - warmup] = dt / 2;
    }
    return lat;
  },
  async teardown() { mine?.close(); peer?.close(); },
});
