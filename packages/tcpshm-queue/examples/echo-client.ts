// Reference-style echo client: ping-pong of consecutive ints with random msg_type 1..4 and the reference's
// payload sizes; prints "in order" at the end (or "bad" and exits 1).
// pnpm --filter @shmkit/tcpshm-queue example:echo-client -- --name c1 --host 127.0.0.1 --port 12345 [--shm] [--count 100000]
import { TcpshmClient } from '@shmkit/tcpshm-queue';
import { args } from './args.js';

const a = args();
const name = String(a['name'] ?? 'c1');
const count = Number(a['count'] ?? 100_000);
const SIZES = [16, 36, 68, 200];
const client = new TcpshmClient({ name, ptcpDir: String(a['dir'] ?? `./state/${name}`), wait: { mode: 'spin' } });
let next = 0, expected = 0;
const t0 = process.hrtime.bigint();
const send = (conn: import('@shmkit/tcpshm-queue').TcpshmConnection) => {
  const size = SIZES[next % 4]!;
  const out = conn.alloc(size, 1 + (next % 4));
  if (!out) { conn.once('drain', () => send(conn)); return; }
  new DataView(out.buffer, out.byteOffset).setUint32(0, next, true);
  conn.push();
  next++;
};
client.onMessage = (msg, conn) => {
  const v = new DataView(msg.payload.buffer, msg.payload.byteOffset).getUint32(0, true);
  conn.pop();
  if (v < expected) return; // a redelivery after a crash of either side
  if (v !== expected) { console.log(`bad: got ${v}, expected ${expected}`); process.exit(1); }
  expected++;
  if (expected === count) {
    const ns = Number(process.hrtime.bigint() - t0);
    console.log(`in order: ${count} round trips, avg RTT ${(ns / count / 1000).toFixed(2)} µs`);
    void client.close().then(() => process.exit(0));
    return;
  }
  if (next === expected) send(conn);
};
client.on('disconnect', (e) => console.log(`disconnect ${e.code}`));
const conn = await client.connect({ host: String(a['host'] ?? '127.0.0.1'), port: Number(a['port'] ?? 12345), shm: a['shm'] === true, reconnect: true });
console.log(`logged in (${conn.mode}), seq ${conn.stats().myAck}`);
next = expected;
send(conn);
