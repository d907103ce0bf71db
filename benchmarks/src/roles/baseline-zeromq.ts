// Baseline zeromq (§5.7): zeromq 6 Pair sockets over ipc://, one Buffer frame per message.
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { defineRole, type RoleContext } from '../api.js';

type Pair = { bind(a: string): Promise<void>; connect(a: string): void; send(m: Buffer): Promise<void>; receive(): Promise<Buffer[]>; close(): void; linger: number };
let ctx: RoleContext, sock: Pair | undefined, file: string | undefined;

defineRole({
  async setup(c) {
    ctx = c;
    const zmq = (await import('zeromq')) as unknown as { Pair: new () => Pair };
    sock = new zmq.Pair();
    sock.linger = 0;
    if (c.role === 'server') {
      file = join(os.tmpdir(), `shmkit-bench-${process.pid}.zmq`);
      rmSync(file, { force: true });
      await sock.bind(`ipc://${file}`);
      return { endpoint: `ipc://${file}` };
    }
    sock.connect((c.peers.server as { endpoint: string }).endpoint);
  },
  async run(n, warmup) {
    const s = sock!, total = n + warmup, size = ctx.size;
    if (ctx.role === 'server') {
      for (let i = 0; i < total; i++) { const [m] = await s.receive(); await s.send(m!); }
      return;
    }
    const frame = Buffer.allocUnsafe(size + 4);
    const lat = new Float64Array(n);
    for (let i = 1; i <= total; i++) {
      const b = i & 0xff;
      frame.fill(b, 4); frame.writeUInt32LE(i, 0);
      const t = process.hrtime.bigint();
      await s.send(frame);
      const [r] = await s.receive();
      if (!r || r.length !== size + 4 || r.readUInt32LE(0) !== i || (size > 0 && (r[4] !== b || r[size + 3] !== b))) throw new Error(`echo mismatch at ${i}`);
      if ((i & 1023) === 0) for (let k = 4; k < size + 4; k++) if (r[k] !== b) throw new Error(`payload byte ${k - 4} wrong at ${i}`);
      const dt = Number(process.hrtime.bigint() - t);
      if (i > warmup) lat[i - warmup - 1] = dt;
    }
    return lat;
  },
  async teardown() { sock?.close(); if (file) rmSync(file, { force: true }); },
});
