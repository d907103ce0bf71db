import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@shmkit/testkit';
import { TcpshmClient, TcpshmServer, removeTcpshmState, type Message, type TcpshmConnection } from '../src/index.js';
import { resolveCommon } from '../src/options.js';
import { shortName, tempDir } from './util.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });
const MAX = 3.5 * 2 ** 20;
const large = { largeMessages: { maxSize: MAX }, tcpQueueSize: 8 << 20, tcpRecvBufMaxSize: 8 << 20, shmQueueSize: 8 << 20,
  heartbeatIntervalMs: 500, connectionTimeoutMs: 5000 };
const pattern = (n: number, seed: number) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff; return b; };

async function pair(mode: 'tcp' | 'shm', clientExtra: Record<string, unknown> = {}) {
  const st = tempDir('lsrv'), ct = tempDir('lcli');
  const sname = shortName('lsrv'), cname = shortName('lcli');
  const echo = (m: Message, c: TcpshmConnection) => { if (!c.send(m.type, m.payload)) { c.once('drain', () => c.resume()); return; } c.pop(); };
  const server = new TcpshmServer({ name: sname, ptcpDir: st.dir, ...large, wait: { mode: 'spin' }, onMessage: echo });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = new TcpshmClient({ name: cname, ptcpDir: ct.dir, ...large, wait: { mode: 'spin' }, ...clientExtra });
  cleanups.push(async () => {
    await client.close(); await server.close();
    await removeTcpshmState({ ptcpDir: ct.dir, localName: cname, remoteName: sname, role: 'client' });
    st.cleanup(); ct.cleanup();
  });
  const conn = await client.connect({ host: '127.0.0.1', port, shm: mode === 'shm' });
  return { client, server, conn };
}

describe('large messages (§4.12, §5.15; shmkit peers only)', () => {
  it.each(['tcp', 'shm'] as const)('%s: 3 MiB and maxSize messages interleaved with small ones arrive whole and in order', async (mode) => {
    const { client, conn } = await pair(mode);
    const sizes = [10, 3 << 20, 100, MAX, 65464, 65465, 7];
    const got: Array<[number, number, boolean]> = [];
    client.onMessage = (m, c) => { const want = pattern(sizes[got.length]!, got.length); got.push([m.type, m.length, Buffer.compare(m.payload, want) === 0]); c.pop(); };
    for (let i = 0; i < sizes.length; i++) await conn.sendAsync(1 + i, pattern(sizes[i]!, i), { timeoutMs: 20_000 });
    await until(() => got.length === sizes.length, 30_000, 'all echoes');
    expect(got).toEqual(sizes.map((n, i) => [1 + i, n, true]));
    // TCP: my_ack counts records: one per ordinary message, k per large one.
    if (mode === 'tcp') expect(conn.stats().myAck).toBe(sizes.reduce((k, n) => k + (n + 8 <= 65535 ? 1 : Math.ceil(n / 65464)), 0));
  }, 60_000);
  it('limits: type >= 0x8000 reserved, more than maxSize refused, construction checks', () => {
    expect(() => resolveCommon({ name: 'a', ptcpDir: '/tmp', largeMessages: { maxSize: 8 << 20 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => resolveCommon({ name: 'a', ptcpDir: '/tmp', largeMessages: { maxSize: 8 << 20 }, tcpRecvBufMaxSize: 16 << 20, tcpQueueSize: 32 << 20 })).not.toThrow();
  });

  it('a large-mode mismatch between shmkit peers in SHM mode → ERR_TCPSHM_CONFIG_MISMATCH', async () => {
    const st = tempDir('lm'), ct = tempDir('lmc');
    const sname = shortName('lms'), cname = shortName('lmc');
    const server = new TcpshmServer({ name: sname, ptcpDir: st.dir, shmQueueSize: 65536, wait: { mode: 'spin' } });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = new TcpshmClient({ name: cname, ptcpDir: ct.dir, shmQueueSize: 65536, largeMessages: { maxSize: 100_000 }, wait: { mode: 'spin' } });
    cleanups.push(async () => { await client.close(); await server.close(); await removeTcpshmState({ ptcpDir: ct.dir, localName: cname, remoteName: sname, role: 'client' }); st.cleanup(); ct.cleanup(); });
    const reasons: string[] = [];
    client.on('disconnect', (e) => reasons.push(e.code));
    await client.connect({ host: '127.0.0.1', port, shm: true });
    await until(() => reasons.length > 0, 3000);
    expect(reasons[0]).toBe('ERR_TCPSHM_CONFIG_MISMATCH');
  });
});
