import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, until } from '@shmkit/testkit';
import { TcpshmClient, removeTcpshmState, type ShmCheckResult } from '../src/index.js';
import { shortName, tempDir } from './util.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; killAll(); });
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

async function refServer(name: string) {
  const s = spawnFixture(fixture('ref-server.ts'), [name, '0'], { TCPSHM_SHM: '65536' });
  const line = await s.waitLine((l) => l.startsWith('listening'), 30_000);
  return { s, port: Number(line.split(' ')[1]) };
}

describe('against the reference-behaviour server (§4.14 (3))', () => {
  it('TCP mode: login with stale response bytes, echo, stale padding ignored', async () => {
    const sname = shortName('ref');
    const { port } = await refServer(sname);
    const t = tempDir('ri'); cleanups.push(() => t.cleanup());
    const client = new TcpshmClient({ name: shortName('ric'), ptcpDir: t.dir, heartbeatIntervalMs: 200, connectionTimeoutMs: 2000 });
    cleanups.push(() => client.close());
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port });
    for (let i = 0; i < 100; i++) conn.send(1 + (i % 4), u32(i));
    await until(() => got.length === 100, 5000);
    expect(got).toEqual([...Array(100).keys()]);
    await until(() => conn.stats().sendQueueMessages === 0, 3000, 'acks from a reference peer');
  });
  it("SHM mode: check 'unsupported', spin, traffic flows; shmCheck 'require' → ERR_TCPSHM_CHECK_UNSUPPORTED", async () => {
    const sname = shortName('ref');
    const { port } = await refServer(sname);
    const t = tempDir('rs'); cleanups.push(() => t.cleanup());
    const cname = shortName('rsc');
    const client = new TcpshmClient({ name: cname, ptcpDir: t.dir, shmQueueSize: 65536, shmCheckTimeoutMs: 300, wait: { mode: 'hybrid' } });
    cleanups.push(async () => { await client.close(); await removeTcpshmState({ ptcpDir: t.dir, localName: cname, remoteName: sname, role: 'client' }); });
    const checks: ShmCheckResult[] = [];
    client.on('shmCheck', (r) => checks.push(r));
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    for (let i = 0; i < 300; i++) conn.send(1, new Uint8Array(4 + (i % 3) * 70).fill(0).map((_, j) => (j < 4 ? u32(i)[j]! : 0)));
    await until(() => got.length === 300, 10_000, 'echoes');
    expect(got).toEqual([...Array(300).keys()]);
    await until(() => checks.length === 1, 3000);
    expect(checks[0]).toMatchObject({ outcome: 'unsupported', peerKind: 'reference', effectiveWaitMode: 'spin' });
    expect(conn.effectiveWaitMode).toBe('spin');
    await client.close();
    const strict = new TcpshmClient({ name: cname, ptcpDir: t.dir, shmQueueSize: 65536, shmCheckTimeoutMs: 200, shmCheck: 'require', wait: { mode: 'spin' } });
    cleanups.push(() => strict.close());
    const reasons: string[] = [];
    strict.on('disconnect', (e) => reasons.push(e.code));
    await strict.connect({ host: '127.0.0.1', port, shm: true });
    await until(() => reasons.length > 0, 3000);
    expect(reasons[0]).toBe('ERR_TCPSHM_CHECK_UNSUPPORTED');
  });
});
