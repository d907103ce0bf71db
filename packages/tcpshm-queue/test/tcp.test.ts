import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '@shmkit/testkit';
import { TcpshmClient, TcpshmServer, isTcpshmError, type TcpshmConnection } from '../src/index.js';
import { encodeLoginRequest, loginLayout } from '../src/internal/wire.js';
import { resolveCommon } from '../src/options.js';
import { rawPeer, shortName, tempDir } from './util.js';

const fast = { heartbeatIntervalMs: 200, connectionTimeoutMs: 500, newConnectionTimeoutMs: 300 };
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });

async function startServer(extra: Record<string, unknown> = {}, name = 'server') {
  const t = tempDir('srv');
  const server = new TcpshmServer({ name, ptcpDir: t.dir, ...fast, ...extra });
  const addr = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => { await server.close(); t.cleanup(); });
  return { server, port: addr.port, dir: t.dir };
}
function newClient(name: string, extra: Record<string, unknown> = {}, dir?: string) {
  const t = dir ? { dir, cleanup() {} } : tempDir('cli');
  const client = new TcpshmClient({ name, ptcpDir: t.dir, ...fast, ...extra });
  cleanups.push(async () => { await client.close(); t.cleanup(); });
  return { client, dir: t.dir };
}
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const echo = (msg: { type: number; payload: Uint8Array; length: number }, conn: TcpshmConnection) => {
  const out = conn.alloc(msg.length, msg.type);
  if (!out) return;
  out.set(msg.payload); conn.push(); conn.pop();
};

const cfg = resolveCommon({ name: 'x', ptcpDir: '/tmp' });
const L = loginLayout(cfg);
const loginFrame = (name: string, last = '', ack = 0, start = 0, end = 0, shm = false) =>
  encodeLoginRequest(cfg, L, { clientAck: ack, clientSeqStart: start, clientSeqEnd: end, userData: new Uint8Array(1), useShm: shm, clientName: name, lastServerName: last });

describe('TCP mode', () => {
  it('raw peer login gets V2 byte-exactly; heartbeats carry the ack', async () => {
    const { port } = await startServer();
    const p = await rawPeer(port);
    p.sock.write(loginFrame('client'));
    const got = await p.waitBytes(72 + 8);
    expect(got.subarray(0, 72).toString('hex')).toBe('44000200000000000000000000000000' + '0000' + Buffer.from('server').toString('hex') + '00'.repeat(72 - 24));
    expect(got.subarray(72, 80).toString('hex')).toBe('0800000000000000');
    p.sock.destroy();
  });

  it('echo between a client and a server; counters; relogin resends nothing twice', async () => {
    const { server, port } = await startServer({ onMessage: echo });
    const name = shortName('echo');
    const { client } = newClient(name);
    const got: number[] = [];
    client.onMessage = (m, c) => { got.push(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)); c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port });
    expect(conn.isOpen).toBe(true);
    for (let i = 0; i < 50; i++) expect(conn.send(1 + (i % 4), u32(i))).toBe(true);
    await until(() => got.length === 50, 5000, 'echoes');
    expect(got).toEqual([...Array(50).keys()]);
    await until(() => conn.stats().sendQueueMessages === 0, 5000, 'acks');
    const st = conn.stats();
    expect(st.messagesSent).toBe(50); expect(st.messagesReceived).toBe(50); expect(st.myAck).toBe(50);
    expect(server.metrics().liveConnections).toBe(1);
  });

  it('resend on relogin, server side (V5 → V6 + both echoes byte-identical; ack 1 → only the second; empty last → zeroed)', async () => {
    // The reference echo order (pop, then push) gives the stamps 1 and 2 of V6.
    const refEcho = (msg: { type: number; payload: Uint8Array; length: number }, conn: TcpshmConnection) => {
      conn.pop(); const out = conn.alloc(msg.length, msg.type)!; out.set(msg.payload); conn.push();
    };
    const { port, dir } = await startServer({ onMessage: refEcho });
    let p = await rawPeer(port);
    p.sock.write(loginFrame('client'));
    await p.waitBytes(72);
    const m = (v: number, ack: number) => Buffer.concat([Buffer.from([12, 0, 1, 0, ack, 0, 0, 0]), Buffer.from(u32(v)), Buffer.alloc(4)]);
    p.sock.write(Buffer.concat([m(777, 0), m(778, 0)]));
    const first = await p.waitBytes(72 + 32);
    const echoes = first.subarray(72, 104).toString('hex');
    expect(echoes).toBe('0c00010001000000090300000000000' + '0' + '0c000100020000000a03000000000000');
    p.sock.destroy();
    await until(() => p.closed(), 2000);
    const relogin = async (ack: number, last = 'server', start = 2, end = 2) => {
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 100; i++) {
        p = await rawPeer(port);
        p.sock.write(loginFrame('client', last, ack, start, end));
        try { await p.waitBytes(72, 2000); } catch { /* closed */ }
        if (p.data().length >= 72 && p.data()[17] === 0) return p;
        p.sock.destroy(); await new Promise((r) => setTimeout(r, 20)); // "Already loggned on" until the server saw the old link die
      }
      throw new Error('relogin failed');
    };
    await relogin(0);
    const v6 = await p.waitBytes(72 + 32);
    expect(v6.subarray(0, 72).toString('hex')).toBe('4400020002000000' + '0000000002000000' + '0000' + Buffer.from('server').toString('hex') + '00'.repeat(72 - 24));
    expect(v6.subarray(72, 104).toString('hex')).toBe(echoes);
    p.sock.destroy(); await until(() => p.closed(), 2000);
    await relogin(1, 'server', 2, 2);
    const only = await p.waitBytes(72 + 16);
    expect(only.subarray(72, 88).toString('hex')).toBe(echoes.slice(32));
    p.sock.destroy(); await until(() => p.closed(), 2000);
    await relogin(0, '', 0, 0);
    const z = await p.waitBytes(72);
    expect(z.readUInt32LE(8)).toBe(0); expect(z.readUInt32LE(12)).toBe(0);
    const file = readFileSync(join(dir, 'server_client.ptcp'));
    expect(file.length).toBe(1_048_576 + 20);
    expect(file.subarray(0, 64).every((x) => x === 0)).toBe(true);
    p.sock.destroy();
  });

  it('fragmented login accepted; partial login dropped at the deadline; bad header dropped', async () => {
    const { server, port } = await startServer();
    const failed: string[] = [];
    server.on('loginFailed', (i) => failed.push(i.error.code));
    const p = await rawPeer(port);
    const f = loginFrame('frag');
    for (let i = 0; i < f.length; i++) { p.sock.write(f.subarray(i, i + 1)); await new Promise((r) => setTimeout(r, 1)); }
    const r = await p.waitBytes(72);
    expect(r[17]).toBe(0);
    const q = await rawPeer(port);
    q.sock.write(f.subarray(0, 40));
    await until(() => q.closed(), 3000, 'partial dropped');
    const b = await rawPeer(port);
    const bad = Buffer.from(loginFrame('badh')); bad[0] = 50;
    b.sock.write(bad);
    await until(() => b.closed(), 3000, 'bad dropped');
    expect(b.data().length).toBe(0);
    await until(() => failed.includes('ERR_TIMEOUT') && failed.includes('ERR_TCPSHM_BAD_LOGIN'), 3000);
    p.sock.destroy();
  });

  it('rejection matrix (client code and reason, server events)', async () => {
    const reject = async (extra: Record<string, unknown>, clientName: string, clientExtra: Record<string, unknown> = {}) => {
      const { server, port } = await startServer(extra, 'server');
      const events: string[] = [];
      server.on('loginFailed', (i) => events.push(i.error.reasonText ?? i.error.code));
      server.on('error', (e) => events.push(e.code));
      server.on('fileError', (_c, e) => events.push(e.code));
      const { client } = newClient(clientName, clientExtra);
      const e = await client.connect({ host: '127.0.0.1', port, timeoutMs: 2000 }).catch((x: unknown) => x);
      return { e: e as { code: string; details: { reason: string }; reasonText: string }, events, server, port };
    };
    const name = shortName('rej');
    let r = await reject({ onNewConnection: () => ({ accept: false, message: 'go away' }) }, name);
    expect(r.e.code).toBe('ERR_TCPSHM_LOGIN_REJECTED'); expect(r.e.details.reason).toBe('rejected'); expect(r.e.reasonText).toBe('go away');
    r = await reject({ onNewConnection: () => { throw new Error('boom'); } }, shortName('rej'));
    expect(r.e.details.reason).toBe('rejected'); expect(r.events).toContain('ERR_TCPSHM_HANDLER_FAILED');
    r = await reject({ onNewConnection: () => ({ accept: true, group: 3 }) }, shortName('rej'));
    expect(r.e.details.reason).toBe('rejected'); expect(r.events).toContain('ERR_TCPSHM_INVALID_GROUP');
    r = await reject({ onNewConnection: () => new Promise(() => {}) }, shortName('rej'));
    expect(r.e.code).toBe('ERR_TCPSHM_LOGIN_FAILED');
    r = await reject({ groups: { tcp: 0 } }, shortName('rej'));
    expect(r.e.reasonText).toBe('Tcp disabled');
    // Invalid names through a raw peer (the client validates its own name first).
    const { port } = await startServer({}, 'server');
    for (const bad of ['', 'a/b', 'a_b', '../x']) {
      const p = await rawPeer(port);
      p.sock.write(loginFrame(bad));
      const got = await p.waitBytes(72);
      expect(got[17]).toBe(2);
      expect(got.subarray(34, 34 + 19).toString()).toBe('Invalid client name');
      p.sock.destroy();
    }
    expect(() => new TcpshmClient({ name: 'a_b', ptcpDir: '/tmp/x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    // Max client cnt exceeded with slotPolicy 'reference': a 5th name in a 4-slot group.
    const s4 = await startServer({ slotPolicy: 'reference', connectionsPerGroup: { tcp: 4 } }, 'server');
    for (let i = 0; i < 4; i++) { const { client } = newClient(shortName('slot')); await client.connect({ host: '127.0.0.1', port: s4.port }); }
    const { client: fifth } = newClient(shortName('slot'));
    const e5 = await fifth.connect({ host: '127.0.0.1', port: s4.port }).catch((x: { details: { reason: string } }) => x);
    expect((e5 as { details: { reason: string } }).details.reason).toBe('max-clients');
    // Already loggned on.
    const dup = shortName('dup');
    const { client: c1 } = newClient(dup);
    await c1.connect({ host: '127.0.0.1', port: s4.port }).catch(() => undefined);
    const s1 = await startServer({}, 'server');
    const { client: a } = newClient(dup);
    await a.connect({ host: '127.0.0.1', port: s1.port });
    const { client: b } = newClient(dup);
    const eb = await b.connect({ host: '127.0.0.1', port: s1.port }).catch((x: unknown) => x);
    expect((eb as { details: { reason: string } }).details.reason).toBe('already-logged-on');
    expect(isTcpshmError(eb, 'ERR_TCPSHM_LOGIN_REJECTED')).toBe(true);
  });

  it('seq mismatch: client state lost while the server kept its state → status 1 with the six numbers', async () => {
    const { server, port } = await startServer({ onMessage: (_m: unknown, c: TcpshmConnection) => { c.pop(); } });
    const name = shortName('seq');
    const t = tempDir('seq');
    cleanups.push(() => t.cleanup());
    const a = new TcpshmClient({ name, ptcpDir: t.dir, ...fast });
    const conn = await a.connect({ host: '127.0.0.1', port });
    for (let i = 0; i < 3; i++) conn.send(1, u32(i));
    await until(() => conn.stats().sendQueueMessages === 0, 3000);
    await a.close();
    // Wipe the client's PTCP file but keep .lastserver: the client now announces ack 0, range [0, 0].
    const { rmSync } = await import('node:fs');
    rmSync(join(t.dir, `${name}_server.ptcp`));
    const seen: unknown[] = [];
    server.on('seqMismatch', (_c, i) => seen.push(i));
    await until(() => ![...server.liveConnections()].length, 3000);
    const b = new TcpshmClient({ name, ptcpDir: t.dir, ...fast });
    cleanups.push(() => b.close());
    const mis: unknown[] = [];
    b.on('seqMismatch', (i) => mis.push(i));
    const e = await b.connect({ host: '127.0.0.1', port }).catch((x: unknown) => x);
    expect(isTcpshmError(e, 'ERR_TCPSHM_SEQ_MISMATCH')).toBe(true);
    expect(mis[0]).toMatchObject({ local: { ack: 0, start: 0, end: 0 }, remote: { ack: 3, start: 0, end: 0 } });
    expect(seen.length).toBe(1);
    expect(existsSync(join(t.dir, `${name}_server.ptcp`))).toBe(true);
  });

  it('rejection matrix, server state: "System error" for a locked, a wrong-size and a corrupt file; overflow; shmLocalOnly', async () => {
    const { writeFileSync } = await import('node:fs');
    const { server, port, dir } = await startServer();
    const fileErrors: string[] = [];
    server.on('fileError', (_c, e) => fileErrors.push(e.code));
    const attempt = async (name: string, last = '', shm = false, p = port) => {
      const r = await rawPeer(p);
      r.sock.write(loginFrame(name, last, 0, 0, 0, shm));
      const got = await r.waitBytes(72);
      r.sock.destroy();
      return { status: got[17], text: got.subarray(34, 66).toString().replace(/\0.*$/s, '') };
    };
    writeFileSync(join(dir, 'server_wsize.ptcp'), new Uint8Array(100));
    expect(await attempt('wsize')).toEqual({ status: 2, text: 'System error' });
    const corrupt = new Uint8Array(1_048_576 + 20);
    new DataView(corrupt.buffer).setUint32(1_048_576, 3, true); // W = 3, a zero-size record at R = 0
    writeFileSync(join(dir, 'server_corr.ptcp'), corrupt);
    expect(await attempt('corr', 'server')).toEqual({ status: 2, text: 'System error' });
    // A second server with the same name and directory finds the file locked.
    expect((await attempt('lockd')).status).toBe(0);
    const twin = new TcpshmServer({ name: 'server', ptcpDir: dir, ...fast });
    const fe2: string[] = [];
    twin.on('fileError', (_c, e) => fe2.push(e.code));
    const a2 = await twin.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => twin.close());
    expect(await attempt('lockd', 'server', false, a2.port)).toEqual({ status: 2, text: 'System error' });
    expect(fe2).toEqual(['ERR_TCPSHM_FILE_LOCKED']);
    expect(fileErrors).toEqual(['ERR_LAYOUT_MISMATCH', 'ERR_TCPSHM_PTCP_CORRUPT']);
    // shmLocalOnly through the test hook.
    const local = await startServer({ shmLocalOnly: true });
    local.server.isLocalAddress = () => false;
    expect(await attempt('remote', '', true, local.port)).toEqual({ status: 2, text: 'Shm requires same host' });
    // Pending-login overflow: extra unauthenticated sockets are destroyed at once.
    const few = await startServer({ maxPendingLogins: 2 });
    const socks = [await rawPeer(few.port), await rawPeer(few.port)];
    await until(() => few.server.metrics().pendingLogins === 2, 2000);
    const third = await rawPeer(few.port);
    await until(() => third.closed(), 2000, 'overflow socket destroyed');
    expect(few.server.metrics().pendingOverflow).toBe(1);
    for (const x of socks) x.sock.destroy();
  });
});
