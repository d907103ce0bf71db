import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@shmkit/testkit';
import { TcpshmClient, TcpshmServer, isTcpshmError, removeTcpshmState, type TcpshmConnection, type ShmCheckResult } from '../src/index.js';
import { shortName, tempDir } from './util.js';

const fast = { heartbeatIntervalMs: 200, connectionTimeoutMs: 1000, newConnectionTimeoutMs: 500, shmQueueSize: 64 * 1024 };
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const echo = (msg: { type: number; payload: Uint8Array; length: number }, conn: TcpshmConnection) => {
  const out = conn.alloc(msg.length, msg.type);
  if (!out) { conn.once('drain', () => conn.resume()); return; }
  out.set(msg.payload); conn.push(); conn.pop();
};

async function pair(serverExtra: Record<string, unknown> = {}, clientExtra: Record<string, unknown> = {}) {
  const st = tempDir('ssrv'), ct = tempDir('scli');
  const sname = shortName('ssrv'), cname = shortName('scli');
  const server = new TcpshmServer({ name: sname, ptcpDir: st.dir, ...fast, onMessage: echo, ...serverExtra });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = new TcpshmClient({ name: cname, ptcpDir: ct.dir, ...fast, ...clientExtra });
  cleanups.push(async () => {
    await client.close(); await server.close();
    for (const naming of ['reference', 'shmkit'] as const) {
      await removeTcpshmState({ ptcpDir: ct.dir, localName: cname, remoteName: sname, role: 'client', shmNaming: naming });
    }
    st.cleanup(); ct.cleanup();
  });
  return { server, client, port, sname, cname };
}

describe('SHM mode', () => {
  it('echo through the rings, SHM check verified, spin never parks', async () => {
    const { client, port } = await pair({ wait: { mode: 'spin' } }, { wait: { mode: 'spin' } });
    const checks: ShmCheckResult[] = [];
    client.on('shmCheck', (r) => checks.push(r));
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    expect(conn.mode).toBe('shm');
    for (let i = 0; i < 200; i++) expect(conn.send(1 + (i % 4), u32(i))).toBe(true);
    await until(() => got.length === 200, 10_000, 'echoes');
    expect(got).toEqual([...Array(200).keys()]);
    await until(() => checks.length > 0, 3000, 'shm check');
    expect(checks[0]).toMatchObject({ outcome: 'verified', peerKind: 'shmkit', effectiveWaitMode: 'spin' });
    expect(conn.peerKind).toBe('shmkit');
    expect(conn.stats().parks).toBe(0);
  });

  it('hybrid parks when idle and wakes on the next message', async () => {
    const { client, server, port } = await pair({ wait: { mode: 'hybrid' } }, { wait: { mode: 'hybrid' } });
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(m.type); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    await until(() => conn.effectiveWaitMode === 'hybrid', 3000, 'hybrid after the check');
    await until(() => conn.stats().parks > 0, 3000, 'client parked');
    const sconn = [...server.liveConnections()][0]!;
    await until(() => sconn.stats().parks > 0, 3000, 'server parked');
    for (let i = 0; i < 20; i++) { conn.send(5, u32(i)); await until(() => got.length === i + 1, 3000, `echo ${i}`); }
    expect(conn.stats().wakeupsSent + sconn.stats().wakeupsSent).toBeGreaterThan(0);
  });

  it('not same host: shmkit naming against reference naming → ERR_TCPSHM_NOT_SAME_HOST', async () => {
    const { client, port } = await pair({ shmNaming: 'reference' }, { shmNaming: 'shmkit', wait: { mode: 'spin' } });
    const discon: string[] = [];
    client.on('disconnect', (e) => discon.push(e.code));
    await client.connect({ host: '127.0.0.1', port, shm: true });
    await until(() => discon.length > 0, 3000, 'disconnect');
    expect(discon[0]).toBe('ERR_TCPSHM_NOT_SAME_HOST');
  });

  it('ring size mismatch between two shmkit peers → the SHM check ends the link; a pre-existing ring of another size → ERR_LAYOUT_MISMATCH', async () => {
    const { client, port } = await pair({}, { shmQueueSize: 128 * 1024, wait: { mode: 'spin' } });
    const e = await client.connect({ host: '127.0.0.1', port, shm: true }).catch((x: unknown) => x);
    // The server created the rings with 64 KiB; the client finds them with another size.
    expect(isTcpshmError(e, 'ERR_LAYOUT_MISMATCH')).toBe(true);
  });

  it('backpressure: a full send ring returns undefined, then drain and sendAsync after the consumer pops', async () => {
    let hold = true;
    const popped: number[] = [];
    const { client, server, port } = await pair({ wait: { mode: 'spin' }, onMessage: (m: { type: number }, c: TcpshmConnection) => { if (hold) return; popped.push(m.type); c.pop(); } }, { wait: { mode: 'spin' } });
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    let sent = 0;
    while (conn.send(1, new Uint8Array(100))) sent++;
    expect(sent).toBeGreaterThan(100);
    expect(conn.alloc(100, 1)).toBeUndefined();
    let drains = 0;
    conn.on('drain', () => drains++);
    const p = conn.sendAsync(2, new Uint8Array(100), { timeoutMs: 10_000 });
    hold = false;
    const sc = [...server.liveConnections()][0]!;
    sc.resume();
    await p;
    await until(() => popped.length === sent + 1, 10_000, 'all popped');
    expect(popped.at(-1)).toBe(2);
    await until(() => drains > 0, 3000, 'drain');
  });

  it("shmCheck 'off' against another naming: the link opens and messages never arrive (why the check exists)", async () => {
    const { client, port } = await pair({ shmNaming: 'reference' }, { shmNaming: 'shmkit', shmCheck: 'off', wait: { mode: 'spin' } });
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(m.type); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    conn.send(1, u32(1));
    await new Promise((r) => setTimeout(r, 300));
    expect(conn.isOpen).toBe(true);
    expect(got).toEqual([]);
  });

  it('block mode parks at once when idle and wakes on the next message', async () => {
    const { client, port } = await pair({ wait: { mode: 'block' } }, { wait: { mode: 'block' } });
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(m.type); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    await until(() => conn.effectiveWaitMode === 'block', 3000);
    await until(() => conn.stats().parks > 0, 3000);
    for (let i = 0; i < 10; i++) { conn.send(3, u32(i)); await until(() => got.length === i + 1, 3000); }
  });

  it('allocation-free access: allocAt/sendBuffer and peekType/peekOffset/peekLength on the ring, manual poll()', async () => {
    const { client, port } = await pair({ wait: { mode: 'spin' } }, { wait: { mode: 'spin' }, shmDriver: 'manual' });
    const conn = await client.connect({ host: '127.0.0.1', port, shm: true });
    const dv = new DataView(conn.sendBuffer.buffer, conn.sendBuffer.byteOffset, conn.sendBuffer.byteLength);
    const off = conn.allocAt(16, 7);
    dv.setBigUint64(off, 42n, true); dv.setFloat64(off + 8, 1.5, true);
    conn.push();
    await until(() => conn.peekType() === 7, 3000, 'echo in the ring');
    const rb = conn.recvBuffer;
    const rdv = new DataView(rb.buffer, rb.byteOffset, rb.byteLength);
    expect(conn.peekLength()).toBe(16);
    expect(rdv.getBigUint64(conn.peekOffset(), true)).toBe(42n);
    expect(rdv.getFloat64(conn.peekOffset() + 8, true)).toBe(1.5);
    conn.pop();
    expect(conn.peekType()).toBe(-1);
    let n = 0;
    client.onMessage = (_m, c) => { n++; c.pop(); };
    conn.send(2, u32(1));
    await until(() => { client.poll(); return n === 1; }, 3000, 'manual poll');
  });

  it('ring role locks: a second producer/consumer of the same pair gets ERR_TCPSHM_FILE_LOCKED; roles are free after close', async () => {
    const { openPairRings } = await import('../src/internal/shm-pair.js');
    const { resolveCommon } = await import('../src/options.js');
    const t = tempDir('lock'); cleanups.push(() => t.cleanup());
    const a = shortName('lka'), b = shortName('lkb');
    const o = resolveCommon({ name: a, ptcpDir: t.dir, shmQueueSize: 4096 });
    const first = openPairRings(o, a, b);
    expect(() => openPairRings(o, a, b)).toThrow(expect.objectContaining({ code: 'ERR_TCPSHM_FILE_LOCKED' }));
    first.producer.close(); first.consumer.close();
    const again = openPairRings(o, a, b);
    again.producer.close(); again.consumer.close();
    await removeTcpshmState({ ptcpDir: t.dir, localName: a, remoteName: b, role: 'server' });
  });
});
