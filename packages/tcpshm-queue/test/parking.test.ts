// Parking across processes (§5.12, §5.13): a producer blocked on a full SHM ring parks on its `.space` FIFO
// and is woken by the consumer's pop; a server with several SHM links parks once for all of them.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, until } from '@shmkit/testkit';
import { TcpshmServer, removeTcpshmState, type Message, type TcpshmConnection } from '../src/index.js';
import { shortName, tempDir } from './util.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const Q = 4096;
const cleanups: Array<() => unknown> = [];
afterEach(async () => { killAll(); for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });

/** A u32 word of a reference-named ring, read through /dev/shm (another process's view of the shared bytes). */
const ringWord = (sender: string, receiver: string, offset: number): number =>
  readFileSync(`/dev/shm/${sender}_${receiver}.shm`).readUInt32LE(Q + offset);
const PRODUCER_PARKED = 64, CONSUMER_PARKED = 192;

async function startServer(onMessage: (m: Message, c: TcpshmConnection) => void) {
  const st = tempDir('pks');
  const sname = shortName('pks');
  const server = new TcpshmServer({ name: sname, ptcpDir: st.dir, shmQueueSize: Q, wait: { mode: 'hybrid', spinBudgetUs: 50 },
    heartbeatIntervalMs: 200, connectionTimeoutMs: 5000, onMessage });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const clients: Array<{ name: string; dir: string; cleanup(): void }> = [];
  cleanups.push(async () => {
    await server.close();
    for (const c of clients) { await removeTcpshmState({ ptcpDir: c.dir, localName: c.name, remoteName: sname, role: 'client' }); c.cleanup(); }
    st.cleanup();
  });
  const client = () => { const t = tempDir('pkc'); const c = { name: shortName('pkc'), ...t }; clients.push(c); return c; };
  return { server, sname, port, client };
}

describe('parking across processes (§5.12)', () => {
  it('a producer blocked on a full ring parks on .space, the consumer pop wakes it, nothing lost or reordered', async () => {
    let hold = true;
    const got: number[] = [];
    const { server, sname, port, client } = await startServer((m, c) => {
      if (hold) return; // held: the client's send ring fills up
      got.push(new DataView(m.payload.buffer, m.payload.byteOffset, 4).getUint32(0, true)); c.pop();
    });
    const c = client();
    const total = 300; // 4 blocks each; the ring holds 64 blocks
    const peer = spawnFixture(fixture('park-peer.ts'), [c.name, c.dir, String(port), 'flood', String(total)]);
    expect(await peer.waitLine((l) => l.startsWith('ready'), 20_000)).toBe('ready hybrid');
    // The producer announces itself parked in the ring (Q+64) and counts the park; its CPU then sleeps on the FIFO.
    await until(() => ringWord(c.name, sname, PRODUCER_PARKED) === 1, 10_000, 'producer_parked == 1');
    await peer.waitLine((l) => l.startsWith('stats') && (JSON.parse(l.slice(6)) as { parks: number }).parks > 0, 10_000);
    const sconn = server.connection(c.name, 'shm')!;
    hold = false;
    sconn.resume();
    const done = await peer.waitLine((l) => l.startsWith('done'), 25_000);
    const [, parks, wakeups] = done.split(' ').map(Number);
    expect(parks).toBeGreaterThan(0);
    expect(wakeups).toBeGreaterThan(0);
    expect(sconn.stats().wakeupsSent).toBeGreaterThan(0);
    await until(() => got.length === total, 10_000, 'all messages');
    expect(got).toEqual([...Array(total).keys()]);
    expect(await peer.exited).toBe(0);
  }, 60_000);

  it('a server with two SHM links parks once for both (both consumer words announced) and wakes for either', async () => {
    const echoes = new Map<string, number>();
    const { server, sname, port, client } = await startServer((m, c) => { echoes.set(c.remoteName, (echoes.get(c.remoteName) ?? 0) + 1); c.pop(); });
    const a = client(), b = client();
    const n = 5;
    const pa = spawnFixture(fixture('park-peer.ts'), [a.name, a.dir, String(port), 'echo', String(n)]);
    const pb = spawnFixture(fixture('park-peer.ts'), [b.name, b.dir, String(port), 'echo', String(n)]);
    expect(await pa.waitLine((l) => l.startsWith('ready'), 20_000)).toBe('ready hybrid');
    expect(await pb.waitLine((l) => l.startsWith('ready'), 20_000)).toBe('ready hybrid');
    const ca = server.connection(a.name, 'shm')!, cb = server.connection(b.name, 'shm')!;
    await until(() => ca.effectiveWaitMode === 'hybrid' && cb.effectiveWaitMode === 'hybrid', 5000, 'both links parkable');
    for (let i = 0; i < n; i++) {
      // Idle: one park covers both receive rings (each announced in its consumer word at Q+192).
      await until(() => ringWord(a.name, sname, CONSUMER_PARKED) === 1 && ringWord(b.name, sname, CONSUMER_PARKED) === 1, 10_000, `both announced (${i})`);
      const before = ca.stats().parks + cb.stats().parks;
      const which = i % 2 === 0 ? ca : cb;
      expect(which.send(3, new Uint8Array([i]))).toBe(true);
      await until(() => (echoes.get(which.remoteName) ?? 0) === Math.floor(i / 2) + 1, 10_000, `echo ${i}`);
      expect(ca.stats().parks + cb.stats().parks).toBeGreaterThanOrEqual(before);
    }
    // Each link took part in parks and was woken through its own channel at least once.
    expect(ca.stats().parks).toBeGreaterThan(0);
    expect(cb.stats().parks).toBeGreaterThan(0);
    expect(ca.stats().wakeupsReceived + cb.stats().wakeupsReceived).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) { (i % 2 === 0 ? cb : ca).send(4, new Uint8Array([i])); }
    await until(() => (echoes.get(a.name) ?? 0) + (echoes.get(b.name) ?? 0) === 2 * n, 10_000, 'remaining echoes');
    expect(await pa.exited).toBe(0);
    expect(await pb.exited).toBe(0);
  }, 60_000);
});
