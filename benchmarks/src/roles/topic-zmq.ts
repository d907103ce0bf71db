// The zeromq PUB/SUB side of topic.transfer / topic.fanout: one publisher (XPUB, so that it can wait for
// every subscriber's subscription before the first message: no slow-joiner loss) → SUB processes with a prefix
// subscription on '/channel'; each message is two frames [topic, payload]; high-water marks unlimited (PUB
// drops at the mark otherwise). The last subscriber measures end to end, as topic-stream does.
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { defineRole, type RoleContext } from '../api.js';
import { BATCH, Stamp, getSeq, payloadPool, putSeq, wantSeq } from '../lib/stream.js';

interface Sock { bind(a: string): Promise<void>; connect(a: string): void; send(m: Buffer | Uint8Array | Array<Buffer | Uint8Array>): Promise<void>; receive(): Promise<Buffer[]>; close(): void; linger: number; sendHighWaterMark: number; receiveHighWaterMark: number; subscribe(...p: string[]): void }
const TOPIC = '/channel';
let ctx: RoleContext, sock: Sock | undefined, file: string | undefined, stamp: Stamp | undefined;
let runNo = 0, sent = 0, got = 0, subscribed = false;
const readers = () => ctx.scenario.roles.length - 1;

defineRole({
  async setup(c) {
    ctx = c;
    const zmq = (await import('zeromq')) as unknown as { XPublisher: new () => Sock; Subscriber: new () => Sock };
    if (c.role === 'writer') {
      sock = new zmq.XPublisher();
      sock.linger = 0; sock.sendHighWaterMark = 0;
      file = join(os.tmpdir(), `shmkit-bench-${process.pid}.zmq`);
      rmSync(file, { force: true });
      await sock.bind(`ipc://${file}`);
      stamp = Stamp.create(c.name);
      return { endpoint: `ipc://${file}` };
    }
    sock = new zmq.Subscriber();
    sock.linger = 0; sock.receiveHighWaterMark = 0;
    sock.connect((c.peers.writer as { endpoint: string }).endpoint);
    sock.subscribe(TOPIC);
    sock.subscribe(`/hello/${c.role}`);
    stamp = Stamp.open(c.name);
  },
  async run(n, warmup) {
    runNo++;
    const s = sock!, size = ctx.size, total = n + warmup;
    if (ctx.role === 'writer') {
      if (!subscribed) {
        const deadline = setTimeout(() => s.close(), 30_000);
        // XPUB passes on a prefix only once (all subscribe TOPIC): each subscriber then subscribes a prefix of
        // its own, which arrives after its TOPIC subscription on the same connection.
        const seen = new Set<string>();
        while (seen.size < readers()) { const [m] = await s.receive(); if (m && m[0] === 1 && m.subarray(1).toString().startsWith('/hello/')) seen.add(m.subarray(1).toString()); }
        clearTimeout(deadline); subscribed = true;
      }
      await stamp!.awaitReaders(runNo, readers());
      const pool = payloadPool(size), topic = Buffer.from(TOPIC);
      for (let i = 0; i < total; i++) {
        if (i === warmup) stamp!.set(runNo);
        const b = pool[i & (BATCH - 1)]!; putSeq(b, sent++);
        // a fresh buffer: zeromq may send larger frames zero-copy after send() resolved, and the pool is reused
        await s.send([topic, size > 256 ? Buffer.from(b) : b]);
      }
      if (warmup >= total) stamp!.set(runNo);
      return;
    }
    const local = new Uint8Array(size), target = runNo * total;
    stamp!.ready();
    let bad = 0;
    const timer = setTimeout(() => s.close(), 120_000);
    try {
      while (got < target) {
        const [, p] = await s.receive();
        if (!p || p.length !== size || getSeq(p) !== wantSeq(size, got)) bad++;
        local.set(p!);
        got++;
      }
    } catch (e) { throw new Error(`stalled after ${got} of ${target} messages (${(e as Error).message})`); } finally { clearTimeout(timer); }
    const end = process.hrtime.bigint();
    if (bad) throw new Error(`${bad} messages with a wrong length or sequence number`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    return { ops: n, bytes: n * size, elapsedNs: Number(end - stamp!.get(runNo)) };
  },
  async teardown() { sock?.close(); if (file) rmSync(file, { force: true }); stamp?.close(); },
});
