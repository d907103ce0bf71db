#!/usr/bin/env node
// Self-contained ping-pong echo benchmark (spec §9 method): a server process and a client process, msg_type
// random in 1..4, the reference's payload sizes 16/36/68/200 B, one cell per size. Prints one JSON line per cell.
// Usage: node bench/echo.mjs [--mode tcp|shm] [--wait spin|hybrid|block] [--count 20000] [--warmup 2000]
// Needs the package built (pnpm --filter @shmkit/tcpshm-queue build).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpshmClient, TcpshmServer, removeTcpshmState } from '../dist/index.js';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const mode = arg('mode', 'tcp');
const wait = arg('wait', 'spin');
const count = Number(arg('count', 20000));
const warmup = Number(arg('warmup', 2000));
const tag = `b${process.pid.toString(36)}`;

if (process.argv.includes('--server')) {
  const dir = arg('dir');
  const server = new TcpshmServer({ name: `${tag}s`, ptcpDir: dir, wait: { mode: wait },
    onMessage: (msg, conn) => { const out = conn.alloc(msg.length, msg.type); if (!out) return; out.set(msg.payload); conn.push(); conn.pop(); } });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  process.send({ port, name: server.name });
  process.on('disconnect', () => { void server.close().then(() => process.exit(0)); });
} else {
  const root = mkdtempSync(join(tmpdir(), 'tcpshm-bench-'));
  const child = fork(fileURLToPath(import.meta.url), ['--server', '--dir', join(root, 's'), '--wait', wait, '--tag', tag]);
  const { port, name: sname } = await new Promise((resolve) => child.once('message', resolve));
  const cname = `${tag}c`;
  const client = new TcpshmClient({ name: cname, ptcpDir: join(root, 'c'), wait: { mode: wait } });
  const conn = await client.connect({ host: '127.0.0.1', port, shm: mode === 'shm' });
  for (const size of [16, 36, 68, 200]) {
    const payload = new Uint8Array(size);
    const rtts = new Float64Array(count);
    let i = 0, sentAt = 0n, t0 = 0n;
    const total = warmup + count;
    await new Promise((resolve) => {
      const send = () => { sentAt = process.hrtime.bigint(); conn.send(1 + ((Math.random() * 4) | 0), payload); };
      client.onMessage = (m, c) => {
        const now = process.hrtime.bigint();
        c.pop();
        if (i >= warmup) rtts[i - warmup] = Number(now - sentAt);
        i++;
        if (i === warmup) t0 = process.hrtime.bigint();
        if (i === total) { resolve(); return; }
        send();
      };
      send();
    });
    const wall = Number(process.hrtime.bigint() - t0);
    const sorted = Array.from(rtts).sort((a, b) => a - b);
    console.log(JSON.stringify({ id: mode === 'shm' ? 'tcpshm-queue.echo-shm' : 'tcpshm-queue.echo-tcp', size, mode: mode === 'shm' ? wait : 'n/a',
      placement: 'unpinned', roundTrips: count, meanNs: Math.round(wall / count), medianNs: sorted[count >> 1], p99Ns: sorted[Math.floor(count * 0.99)] }));
  }
  client.onMessage = undefined;
  await client.close();
  child.disconnect();
  await new Promise((r) => child.once('exit', r));
  await removeTcpshmState({ ptcpDir: join(root, 'c'), localName: cname, remoteName: sname, role: 'client' });
  rmSync(root, { recursive: true, force: true });
}
