// rmp.pingpong / rmp.notify: two channels (client → echo '<name>-a', echo → client '<name>-b'); the
// echo writes each message back from inside its drain callback. The reader's wait mode is the cell's
// mode; with params.half the result is half the round trip (one wake-up of a parked reader in block).
// params.via 'topic' (topic.pingpong): the same over two TopicChannels, topic '/ping', callback
// subscriptions with a view; the echo publishes from inside its callback.
import { RmpChannel, type RmpReader, type RmpWriter, type WaitMode } from '@shmkit/rmp';
import { TopicChannel } from '@shmkit/topic';
import { defineRole, type RoleContext } from '../api.js';

let ctx: RoleContext;
let chA: RmpChannel | undefined, chB: RmpChannel | undefined, w: RmpWriter | undefined, r: RmpReader | undefined;
let tA: TopicChannel | undefined, tB: TopicChannel | undefined;
/** Topic path: messages delivered so far, and the handler the current run installs. */
let tGot = 0, tTarget = 0, tWake: (() => void) | undefined, tSink: ((p: Uint8Array) => void) | undefined;
const T = '/ping';
const MiB = 1 << 20;
/** ring = max(4 MiB, next power of two >= 2 x size) (rmp.md §9). */
export function ringFor(size: number): number { let r = 4 * MiB; while (r < 2 * (size + 64)) r *= 2; return r; }

defineRole({
  async setup(c) {
    ctx = c;
    const mode = (c.mode === 'n/a' ? 'hybrid' : c.mode) as WaitMode;
    const ringSize = ringFor(c.size);
    if (c.params.via === 'topic') {
      const o = { ringSize, maxReaders: 2, wait: { mode }, backpressure: { policy: 'wait' as const, timeoutMs: 5_000, onTimeout: 'throw' as const } };
      const echo = c.role === 'echo';
      tA = echo ? TopicChannel.create(`${c.name}-a`, o) : await TopicChannel.open(`${c.name}-a`, o);
      tB = echo ? TopicChannel.create(`${c.name}-b`, o) : await TopicChannel.open(`${c.name}-b`, o);
      // The echo answers from its callback at once (the pump may deliver before its run() starts).
      if (echo) { const back = tB; tSink = (p) => { back.publish(T, p); }; }
      (echo ? tA : tB).subscribe(T, (m) => { tSink?.(m.payload); tGot++; tWake?.(); }, { copy: false });
      return;
    }
    if (c.role === 'echo') {
      chA = RmpChannel.create(`${c.name}-a`, { ringSize, maxReaders: 2 });
      chB = RmpChannel.create(`${c.name}-b`, { ringSize, maxReaders: 2 });
      r = chA.createReader({ wait: { mode }, publishLagBytes: 0 });
      w = chB.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5_000, onTimeout: 'throw' } });
    } else {
      chA = await RmpChannel.open(`${c.name}-a`, { waitInitMs: 5_000 });
      chB = await RmpChannel.open(`${c.name}-b`, { waitInitMs: 5_000 });
      r = chB.createReader({ wait: { mode }, publishLagBytes: 0 });
      w = chA.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5_000, onTimeout: 'throw' } });
    }
  },
  async run(n, warmup) {
    const total = n + warmup, size = ctx.size;
    const deadline = Date.now() + 120_000;
    let send: (b: Uint8Array) => void, recv: (sink: (p: Uint8Array) => void) => Promise<void>;
    const upTo = async (want: number, sink: ((p: Uint8Array) => void) | undefined) => {
      tSink = sink;
      while (tGot < want) {
        await new Promise<void>((res) => { const t = setTimeout(res, 1_000); tWake = () => { clearTimeout(t); res(); }; });
        if (Date.now() > deadline) throw new Error('peer stalled');
      }
      tWake = undefined;
    };
    if (tA) {
      const out = tA;
      send = (b) => { out.publish(T, b); };
      recv = async (sink) => { await upTo(tGot + 1, sink); };
      if (ctx.role === 'echo') { tTarget += total; await upTo(tTarget, tSink); return; }
    } else {
      const reader = r!, writer = w!;
      send = (b) => { writer.write(b); };
      recv = async (sink) => {
        while (reader.drain(sink, 1) === 0) {
          if (reader.expired) throw new Error('reader overrun');
          await reader.waitForData({ timeoutMs: 1_000 });
          if (Date.now() > deadline) throw new Error('peer stalled');
        }
      };
    }
    if (ctx.role === 'echo') {
      for (let i = 0; i < total; i++) await recv(send);
      return;
    }
    const buf = new Uint8Array(size);
    const dv = new DataView(buf.buffer);
    const lat = new Float64Array(n);
    const div = ctx.params.half ? 2 : 1;
    let bad = 0, seqWant = 0;
    const check = (p: Uint8Array) => {
      if (p.length !== size) { bad++; return; }
      if (size >= 8 && (p[0] !== (seqWant & 255) || p[size - 1] !== ((seqWant + size - 1) & 255) || new DataView(p.buffer, p.byteOffset, 8).getUint32(0, true) !== seqWant)) bad++;
      if ((seqWant & 1023) === 0) for (let j = 4; j < size; j++) if (p[j] !== ((seqWant + j) & 255)) { bad++; break; }
    };
    for (let i = 0; i < total; i++) {
      // Every byte carries a pattern derived from the sequence number; bytes 0..3 the number itself.
      for (let j = 0; j < size; j++) buf[j] = (i + j) & 255;
      if (size >= 8) dv.setUint32(0, i, true);
      seqWant = i;
      const t = process.hrtime.bigint();
      send(buf);
      await recv(check);
      const dt = Number(process.hrtime.bigint() - t);
      if (i >= warmup) lat[i - warmup] = dt / div;
    }
    if (bad) throw new Error(`${bad} echoes failed verification`);
    return lat;
  },
  async teardown() {
    tA?.close(); tB?.close();
    if (tA && ctx.role === 'echo') { TopicChannel.unlink(`${ctx.name}-a`); TopicChannel.unlink(`${ctx.name}-b`); }
    r?.close(); w?.close();
    if (chA && ctx.role === 'echo') { RmpChannel.unlink(`${ctx.name}-a`); RmpChannel.unlink(`${ctx.name}-b`); }
    chA?.close(); chB?.close();
  },
});
