// The socket side of rmp.vs-sockets (and the topic/rmp one-way comparisons): the same one-way stream
// as rmp-stream.ts over node:net (params.transport 'net-tcp' or 'net-uds'); frames = 4-byte LE length
// + payload, the writer packs up to 64 frames per socket write (as writeMany(64) does one lock).
// Role 'writer' (first) listens; the last role connects, receives, verifies and measures.
import type net from 'node:net';
import { defineRole, type RoleContext } from '../api.js';
import { closeListener, connectTo, listenFor, type Listener } from '../lib/net-stream.js';
import { BATCH, Stamp, getSeq, payloadPool, putSeq, wantSeq } from '../lib/stream.js';

let ctx: RoleContext;
let listener: Listener | undefined, sock: net.Socket | undefined, stamp: Stamp | undefined, socks: net.Socket[] | undefined;
let runNo = 0;
// Receiver state, fed by 'data' events.
let onFrame: ((p: Uint8Array) => void) | undefined;
let acc: Buffer = Buffer.alloc(0);

function parse(d: Buffer): void {
  acc = acc.length ? Buffer.concat([acc, d]) : d;
  let off = 0;
  while (acc.length - off >= 4) {
    const len = acc.readUInt32LE(off);
    if (acc.length - off < 4 + len) break;
    onFrame?.(acc.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  acc = off === acc.length ? Buffer.alloc(0) : acc.subarray(off);
}

defineRole({
  async setup(c) {
    ctx = c;
    if (c.role === 'writer') {
      stamp = Stamp.create(c.name);
      listener = await listenFor(String(c.params.transport), c.name, c.scenario.roles.length - 1);
      return { address: listener.address };
    }
    stamp = Stamp.open(c.name);
    sock = await connectTo(c.peers.writer, parse);
  },
  async run(n, warmup) {
    runNo++;
    const size = ctx.size, total = n + warmup;
    if (listener) {
      const all = socks ?? (socks = await listener.accepted);
      await stamp!.awaitReaders(runNo, ctx.scenario.roles.length - 1);
      const pool = payloadPool(size);
      let i = 0;
      while (i < total) {
        if (i <= warmup && warmup < i + BATCH) stamp!.set(runNo);
        const k = Math.min(BATCH, total - i);
        const chunk = Buffer.allocUnsafe(k * (4 + size));
        for (let j = 0; j < k; j++) {
          const b = pool[j]!; putSeq(b, i + j);
          chunk.writeUInt32LE(size, j * (4 + size)); chunk.set(b, j * (4 + size) + 4);
        }
        i += k;
        // Fan-out: the writer writes each chunk to every subscriber's socket.
        for (const s of all) if (!s.write(chunk)) await new Promise<void>((res) => s.once('drain', res));
      }
      return;
    }
    const local = new Uint8Array(size);
    stamp!.ready();
    let got = 0, bad = 0;
    let done!: () => void;
    const finished = new Promise<void>((res) => { done = res; });
    let end = 0n;
    onFrame = (p) => {
      if (p.length !== size || getSeq(p) !== wantSeq(size, got)) bad++;
      local.set(p);
      if (++got === total) { end = process.hrtime.bigint(); done(); }
    };
    if (acc.length) parse(Buffer.alloc(0));
    const t = setTimeout(() => done(), 120_000);
    await finished; clearTimeout(t);
    onFrame = undefined;
    if (got < total) throw new Error(`stalled after ${got} of ${total} messages`);
    if (bad) throw new Error(`${bad} frames with a wrong length or sequence number`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    return { ops: n, bytes: n * size, elapsedNs: Number(end - stamp!.get(runNo)) };
  },
  async teardown() {
    sock?.destroy();
    await closeListener(listener, socks);
    stamp?.close();
  },
});
