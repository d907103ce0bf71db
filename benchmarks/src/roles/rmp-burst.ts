// rmp.burst-latency (Toroni's table method): the writer sends bursts of 10 messages, each carrying a
// monotonic ns stamp (8 B, float64), with one writeMany (one lock, one notification) per burst, then
// paces 1 ms; readers compute `now − stamp` per message; the last reader returns the latencies.
// params.transport 'net-uds' | 'net-tcp': the same bursts as 10 frames in one socket write per reader.
import type net from 'node:net';
import { RmpChannel, type RmpReader, type RmpWriter, type WaitMode } from '@shmkit/rmp';
import { defineRole, type RoleContext } from '../api.js';
import { closeListener, connectTo, listenFor, type Listener } from '../lib/net-stream.js';
import { Stamp } from '../lib/stream.js';

const BURST = 10;
let ctx: RoleContext;
let ch: RmpChannel | undefined, w: RmpWriter | undefined, r: RmpReader | undefined, stamp: Stamp | undefined;
let listener: Listener | undefined, sock: net.Socket | undefined, socks: net.Socket[] | undefined;
let onStamp: ((t: number) => void) | undefined;
let acc: Buffer = Buffer.alloc(0);
let runNo = 0;
const readers = () => ctx.scenario.roles.length - 1;
const isLast = () => ctx.role === ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name;

function parse(d: Buffer): void {
  acc = acc.length ? Buffer.concat([acc, d]) : d;
  let off = 0;
  while (acc.length - off >= 12) { onStamp?.(acc.readDoubleLE(off + 4)); off += 12; }
  acc = off === acc.length ? Buffer.alloc(0) : acc.subarray(off);
}

defineRole({
  async setup(c) {
    ctx = c;
    const transport = c.params.transport as string | undefined;
    if (c.role === 'writer') {
      stamp = Stamp.create(c.name);
      if (!transport) {
        ch = RmpChannel.create(c.name, { ringSize: 4 << 20, maxReaders: 8 });
        w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5_000, onTimeout: 'throw' } });
        return;
      }
      listener = await listenFor(transport, c.name, readers());
      return { address: listener.address };
    }
    stamp = Stamp.open(c.name);
    if (!transport) {
      ch = await RmpChannel.open(c.name, { waitInitMs: 5_000 });
      r = ch.createReader({ wait: { mode: (c.mode === 'n/a' ? 'block' : c.mode) as WaitMode }, publishLagBytes: 0 });
      return;
    }
    sock = await connectTo(c.peers.writer, parse);
  },
  async run(n, warmup) {
    runNo++;
    const bursts = Math.ceil((n + warmup) / BURST), total = bursts * BURST;
    if (ctx.role === 'writer') {
      const all = listener ? (socks ??= await listener.accepted) : [];
      await stamp!.awaitReaders(runNo, readers());
      const msgs = Array.from({ length: BURST }, () => new Uint8Array(8));
      const views = msgs.map((m) => new DataView(m.buffer));
      const frames = Buffer.alloc(BURST * 12);
      for (let b = 0; b < bursts; b++) {
        for (let k = 0; k < BURST; k++) {
          const t = Number(process.hrtime.bigint());
          if (w) views[k]!.setFloat64(0, t, true); else { frames.writeUInt32LE(8, k * 12); frames.writeDoubleLE(t, k * 12 + 4); }
        }
        if (w) w.writeMany(msgs); else for (const s of all) s.write(Buffer.from(frames));
        await new Promise((res) => setTimeout(res, 1)); // pacing between bursts
      }
      return;
    }
    stamp!.ready();
    const lat = new Float64Array(total);
    let got = 0;
    const take = (t: number) => { if (got < total) lat[got] = Number(process.hrtime.bigint()) - t; got++; };
    const deadline = Date.now() + 120_000;
    if (r) {
      const reader = r;
      const sink = (p: Uint8Array) => { take(new DataView(p.buffer, p.byteOffset, 8).getFloat64(0, true)); };
      while (got < total) {
        if (reader.drain(sink) === 0) {
          if (reader.expired) throw new Error('reader overrun');
          await reader.waitForData({ timeoutMs: 1_000 });
          if (Date.now() > deadline) throw new Error(`stalled after ${got} of ${total} messages`);
        }
      }
    } else {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stalled after ${got} of ${total} messages`)), 120_000);
        onStamp = (s) => { take(s); if (got === total) { clearTimeout(t); res(); } };
        if (acc.length) parse(Buffer.alloc(0));
      });
      onStamp = undefined;
    }
    if (got !== total) throw new Error(`${got} messages for ${total}`);
    if (!isLast()) return;
    return lat.subarray(total - n);
  },
  async teardown() {
    r?.close(); w?.close();
    if (ctx.role === 'writer' && ch) RmpChannel.unlink(ctx.name);
    ch?.close();
    sock?.destroy();
    await closeListener(listener, socks);
    stamp?.close();
  },
});
