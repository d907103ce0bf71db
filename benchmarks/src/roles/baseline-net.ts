// Baselines net-uds and net-tcp (§5.7): framed echo (4-byte LE length + payload) over node:net.
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { defineRole, type RoleContext } from '../api.js';

let ctx: RoleContext;
let server: net.Server | undefined, sock: net.Socket | undefined, path: string | undefined;

function serve(s: net.Socket): void {
  s.setNoDelay(true);
  let acc: Buffer = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    acc = acc.length ? Buffer.concat([acc, d]) : d;
    while (acc.length >= 4) {
      const len = acc.readUInt32LE(0);
      if (acc.length < 4 + len) break;
      s.write(acc.subarray(0, 4 + len));
      acc = acc.subarray(4 + len);
    }
  });
  s.on('error', () => {});
}

defineRole({
  async setup(c) {
    ctx = c;
    const tcp = c.params.transport === 'net-tcp';
    if (c.role === 'server') {
      server = net.createServer(serve);
      if (tcp) {
        await new Promise<void>((res, rej) => { server!.once('error', rej); server!.listen(0, '127.0.0.1', res); });
        return { port: (server.address() as net.AddressInfo).port };
      }
      path = join(os.tmpdir(), `shmkit-bench-${process.pid}.sock`);
      rmSync(path, { force: true });
      await new Promise<void>((res, rej) => { server!.once('error', rej); server!.listen(path, res); });
      return { path };
    }
    const peer = c.peers.server as { port?: number; path?: string };
    sock = tcp ? net.connect(peer.port!, '127.0.0.1') : net.connect(peer.path!);
    sock.setNoDelay(true);
    await new Promise<void>((res, rej) => { sock!.once('connect', res); sock!.once('error', rej); });
  },
  async run(n, warmup) {
    if (ctx.role === 'server') return;
    const s = sock!, size = ctx.size, total = n + warmup;
    const frame = Buffer.allocUnsafe(size + 4), rbuf = Buffer.allocUnsafe(size + 4);
    frame.writeUInt32LE(size, 0);
    let got = 0, done: (() => void) | null = null, fail: ((e: Error) => void) | null = null;
    const onData = (d: Buffer) => { got += d.copy(rbuf, got); if (got >= size + 4 && done) done(); };
    const onErr = (e: Error) => fail?.(e);
    s.on('data', onData); s.on('error', onErr); s.on('close', () => fail?.(new Error('connection closed')));
    const lat = new Float64Array(n);
    try {
      for (let i = 1; i <= total; i++) {
        const b = i & 0xff;
        frame.fill(b, 4);
        got = 0;
        const t = process.hrtime.bigint();
        await new Promise<void>((res, rej) => { done = res; fail = rej; s.write(frame); });
        if (rbuf.readUInt32LE(0) !== size || (size > 0 && (rbuf[4] !== b || rbuf[size + 3] !== b))) throw new Error(`echo mismatch at ${i}`);
        if ((i & 1023) === 0) for (let k = 4; k < size + 4; k++) if (rbuf[k] !== b) throw new Error(`payload byte ${k - 4} wrong at ${i}`);
        const dt = Number(process.hrtime.bigint() - t);
        if (i > warmup) lat[i - warmup - 1] = dt;
      }
    } finally { s.off('data', onData); s.off('error', onErr); done = null; fail = null; }
    return lat;
  },
  async teardown() {
    sock?.destroy();
    if (server) { server.close(); if (path) rmSync(path, { force: true }); }
  },
});
