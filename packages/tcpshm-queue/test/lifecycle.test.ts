import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '@shmkit/testkit';
import { TcpshmClient, TcpshmServer, isTcpshmError, type TcpshmConnection, type Message } from '../src/index.js';
import { shortName, tempDir } from './util.js';

const fast = { heartbeatIntervalMs: 200, connectionTimeoutMs: 1000, newConnectionTimeoutMs: 300 };
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const val = (m: Message) => new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true);
const echo = (msg: Message, conn: TcpshmConnection) => { const out = conn.alloc(msg.length, msg.type); if (!out) return; out.set(msg.payload); conn.push(); conn.pop(); };

async function startServer(name: string, dir: string, extra: Record<string, unknown> = {}, port = 0) {
  const server = new TcpshmServer({ name, ptcpDir: dir, ...fast, ...extra });
  const addr = await server.listen({ port, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return { server, port: addr.port };
}
function mkClient(name: string, dir: string, extra: Record<string, unknown> = {}) {
  const client = new TcpshmClient({ name, ptcpDir: dir, ...fast, ...extra });
  cleanups.push(() => client.close());
  return client;
}
function dirs() { const s = tempDir('ls'), c = tempDir('lc'); cleanups.push(() => { s.cleanup(); c.cleanup(); }); return { sdir: s.dir, cdir: c.dir }; }

describe('lifecycle, recovery and API', () => {
  it('server rename: serverChanged with discarded count, new zeroed file, .lastserver updated, server pairReset', async () => {
    const { sdir, cdir } = dirs();
    const cname = shortName('ren');
    const a = await startServer('server', sdir, { onMessage: () => { /* hold: never pops */ } });
    const client = mkClient(cname, cdir);
    const conn = await client.connect({ host: '127.0.0.1', port: a.port });
    for (let i = 0; i < 3; i++) conn.send(1, u32(i));
    await until(() => conn.stats().unsentBytes === 0, 2000);
    await a.server.close();
    await until(() => !conn.isOpen, 3000, 'link end');
    const b = await startServer('srvB', sdir, { onMessage: echo });
    const resets: number[] = [];
    b.server.on('pairReset', (_c, i) => resets.push(i.discardedMessages));
    const changed: unknown[] = [];
    client.on('serverChanged', (i) => changed.push(i));
    const conn2 = await client.connect({ host: '127.0.0.1', port: b.port });
    expect(changed).toEqual([{ from: 'server', to: 'srvB', discardedMessages: 3 }]);
    expect(conn2).not.toBe(conn);
    expect(conn.isClosed).toBe(true);
    expect(conn2.stats()).toMatchObject({ myAck: 0, readSeq: 0, seqEnd: 0 });
    expect(readFileSync(join(cdir, `${cname}.lastserver`)).subarray(0, 5).toString()).toBe('srvB\0');
    expect(existsSync(join(cdir, `${cname}_server.ptcp`))).toBe(true);
    expect(existsSync(join(cdir, `${cname}_srvB.ptcp`))).toBe(true);
    expect(resets).toEqual([]); // srvB had no state for this name
  });

  it('client rename → pairReset; release-offline evicts the longest-offline binding, which can log in again and gets its queued messages', async () => {
    const { sdir } = dirs();
    const s = await startServer('server', sdir, { connectionsPerGroup: { tcp: 2 }, onMessage: (m: Message, c: TcpshmConnection) => c.pop() });
    const names = [shortName('ev'), shortName('ev'), shortName('ev')];
    const cdirs = names.map(() => { const t = tempDir('evc'); cleanups.push(() => t.cleanup()); return t.dir; });
    const c0 = mkClient(names[0]!, cdirs[0]!);
    await c0.connect({ host: '127.0.0.1', port: s.port });
    const sc0 = s.server.connection(names[0]!)!;
    await c0.close();
    await until(() => !sc0.isOpen, 2000);
    sc0.send(9, u32(42)); // queued for an offline client
    const c1 = mkClient(names[1]!, cdirs[1]!);
    await c1.connect({ host: '127.0.0.1', port: s.port });
    const closed: string[] = [];
    sc0.on('close', () => closed.push(sc0.closeReason?.code ?? ''));
    const c2 = mkClient(names[2]!, cdirs[2]!);
    await c2.connect({ host: '127.0.0.1', port: s.port });
    expect(closed).toEqual(['ERR_TCPSHM_EVICTED']);
    expect(s.server.metrics().evictions).toBe(1);
    await c1.close();
    await until(() => s.server.metrics().liveConnections === 1, 2000);
    const again = mkClient(names[0]!, cdirs[0]!);
    const got: number[] = [];
    again.onMessage = (m, c) => { got.push(val(m)); c.pop(); };
    await again.connect({ host: '127.0.0.1', port: s.port });
    await until(() => got.length === 1, 3000, 'queued message after eviction');
    expect(got).toEqual([42]);
    // A renamed client (empty last_server_name) of a name with state → pairReset.
    const resets: number[] = [];
    s.server.on('pairReset', (_c, i) => resets.push(i.discardedMessages));
    const sc = s.server.connection(names[0]!)!;
    await until(() => sc.stats().sendQueueMessages === 0, 2000, 'ack of 42');
    await again.close();
    await until(() => !sc.isOpen, 2000);
    sc.send(9, u32(43));
    const fresh = mkClient(names[0]!, (() => { const t = tempDir('fresh'); cleanups.push(() => t.cleanup()); return t.dir; })());
    await fresh.connect({ host: '127.0.0.1', port: s.port });
    expect(resets).toEqual([1]);
  });

  it("duplicateLogin 'replace' ends the first link with ERR_TCPSHM_REPLACED", async () => {
    const { sdir } = dirs();
    const s = await startServer('server', sdir, { duplicateLogin: 'replace' });
    const name = shortName('rep');
    const t1 = tempDir('r1'), t2 = tempDir('r2'); cleanups.push(() => { t1.cleanup(); t2.cleanup(); });
    const a = mkClient(name, t1.dir);
    const reasons: string[] = [];
    s.server.on('disconnect', (_c, r) => reasons.push(r.code));
    await a.connect({ host: '127.0.0.1', port: s.port });
    const b = mkClient(name, t2.dir);
    await b.connect({ host: '127.0.0.1', port: s.port });
    expect(reasons).toContain('ERR_TCPSHM_REPLACED');
  });

  it('client-side resend on relogin: 100 unacked messages arrive exactly once, in order; resentMessages == 100', async () => {
    const { sdir, cdir } = dirs();
    const got: number[] = [];
    let hold = true;
    const s = await startServer('server', sdir, { onMessage: (m: Message, c: TcpshmConnection) => { if (hold) return; got.push(val(m)); c.pop(); } });
    const client = mkClient(shortName('rs'), cdir, { ackDelayMs: false });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    for (let i = 0; i < 100; i++) conn.send(1, u32(i));
    await until(() => conn.stats().unsentBytes === 0, 2000);
    const sc = [...s.server.liveConnections()][0]!;
    const resentBefore = conn.stats().resentMessages;
    sc.close(); // cut the link from the server side
    await until(() => !conn.isOpen, 2000);
    hold = false;
    sc.resume();
    await client.connect({ host: '127.0.0.1', port: s.port });
    await until(() => got.length >= 100, 5000, '100 messages');
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([...Array(100).keys()]);
    expect(conn.stats().resentMessages - resentBefore).toBe(100);
  });

  it('held message across a relogin: popping the carried message drops its retransmission', async () => {
    const { sdir, cdir } = dirs();
    const s = await startServer('server', sdir);
    const client = mkClient(shortName('hold'), cdir);
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    const sc = [...s.server.liveConnections()][0]!;
    sc.send(1, u32(10)); sc.send(1, u32(11));
    await until(() => conn.front() !== undefined, 2000);
    const m = conn.front()!;
    expect(val(m)).toBe(10);
    expect(m.seq).toBe(0);
    sc.close();
    await until(() => !conn.isOpen, 2000);
    await client.connect({ host: '127.0.0.1', port: s.port });
    expect(conn.front()).toBe(m);
    conn.pop();
    await until(() => conn.front() !== undefined, 2000);
    expect(val(conn.front()!)).toBe(11);
    expect(conn.front()!.seq).toBe(1);
  });

  it('ack delay frees a one-way queue with heartbeats at 60 s; backpressure: undefined, drain, sendAsync', async () => {
    const { sdir, cdir } = dirs();
    let n = 0;
    const s = await startServer('server', sdir, { heartbeatIntervalMs: 60_000, connectionTimeoutMs: 120_000, onMessage: (_m: Message, c: TcpshmConnection) => { n++; c.pop(); } });
    const client = mkClient(shortName('ack'), cdir, { tcpQueueSize: 16_000, heartbeatIntervalMs: 60_000, connectionTimeoutMs: 120_000 });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    let drains = 0;
    conn.on('drain', () => drains++);
    for (let i = 0; i < 10_000; i++) await conn.sendAsync(1, u32(i), { timeoutMs: 10_000 });
    await until(() => n === 10_000, 10_000, 'all delivered');
    // The last acks arrive after the ack delay; until then the queue may still be full and nothing new is sent.
    await until(() => conn.stats().sendQueueMessages === 0, 10_000, 'all acked');
    const sc = [...s.server.liveConnections()][0]!;
    expect(sc.stats().ackHeartbeats).toBeGreaterThan(0);
    // Backpressure with a holding receiver.
    let held = 0;
    s.server.onMessage = () => { held++; };
    let sent = 0;
    while (conn.send(1, u32(sent))) sent++;
    expect(conn.alloc(4, 1)).toBeUndefined();
    await until(() => held === 1, 2000);
    const p = conn.sendAsync(1, u32(sent));
    s.server.onMessage = (_m, c) => { n++; c.pop(); };
    sc.resume();
    await p;
    await until(() => drains > 0, 3000, 'drain');
  });

  it('async iterator: in order, break leaves the message unpopped; iterator + handler → ERR_INVALID_STATE; handler throw → error + resume', async () => {
    const { sdir, cdir } = dirs();
    const s = await startServer('server', sdir);
    const client = mkClient(shortName('it'), cdir);
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    const sc = [...s.server.liveConnections()][0]!;
    for (let i = 0; i < 5; i++) sc.send(2, u32(i));
    const seen: number[] = [];
    for await (const m of conn) { seen.push(val(m)); if (seen.length === 3) break; }
    expect(seen).toEqual([0, 1, 2]);
    for await (const m of conn) { seen.push(val(m)); if (seen.length === 6) break; }
    expect(seen).toEqual([0, 1, 2, 2, 3, 4]);
    conn.pop();
    let throws = 1;
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const handled: number[] = [];
    client.onMessage = (m, c) => { if (throws-- > 0) throw new Error('nope'); handled.push(val(m)); c.pop(); };
    expect(() => conn.messages()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    sc.send(3, u32(99));
    await until(() => errors.length === 1, 2000);
    expect(errors).toEqual(['ERR_TCPSHM_HANDLER_FAILED']);
    expect(handled).toEqual([]);
    conn.resume();
    await until(() => handled.length === 1, 2000);
    expect(handled).toEqual([99]);
  });

  it('close: views detached, calls throw ERR_CLOSED, locks free; close({ drain }) after everything is acked', async () => {
    const { sdir, cdir } = dirs();
    const s = await startServer('server', sdir, { onMessage: (_m: Message, c: TcpshmConnection) => c.pop() });
    const name = shortName('cl');
    const client = new TcpshmClient({ name, ptcpDir: cdir, ...fast });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    const view = conn.sendBuffer;
    for (let i = 0; i < 20; i++) conn.send(1, u32(i));
    await client.close({ drain: true, timeoutMs: 5000 });
    expect(conn.isClosed).toBe(true);
    expect(view[0]).toBeUndefined();
    expect(() => conn.send(1, u32(1))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    const again = mkClient(name, cdir);
    const c2 = await again.connect({ host: '127.0.0.1', port: s.port });
    expect(c2.stats().sendQueueMessages).toBe(0);
    // A second process-equivalent on the same name and dir → ERR_TCPSHM_FILE_LOCKED (another open file description: the flock is held).
    const other = new TcpshmClient({ name, ptcpDir: cdir, ...fast });
    const e = await other.connect({ host: '127.0.0.1', port: s.port }).catch((x: unknown) => x);
    expect(isTcpshmError(e, 'ERR_TCPSHM_FILE_LOCKED')).toBe(true);
    await other.close();
    const { removeTcpshmState } = await import('../src/index.js');
    await expect(removeTcpshmState({ ptcpDir: cdir, localName: name, role: 'client' })).rejects.toMatchObject({ code: 'ERR_TCPSHM_FILE_LOCKED' });
    await again.close();
    const removed = await removeTcpshmState({ ptcpDir: cdir, localName: name, role: 'client' });
    expect(removed.removed.map((p) => p.split('/').pop())).toEqual([`${name}_server.ptcp`, `${name}.lastserver`]);
  });

  it('auto reconnect: server killed (closed) and restarted; reconnecting with growing delays, then reconnected; messages pushed meanwhile arrive', async () => {
    const { sdir, cdir } = dirs();
    const got: number[] = [];
    const onMessage = (m: Message, c: TcpshmConnection) => { got.push(val(m)); c.pop(); };
    const a = await startServer('server', sdir, { onMessage });
    const client = mkClient(shortName('rc'), cdir);
    const delays: number[] = [];
    client.on('reconnecting', (i) => delays.push(i.delayMs));
    let reconnected = 0;
    client.on('reconnected', () => reconnected++);
    const conn = await client.connect({ host: '127.0.0.1', port: a.port, reconnect: { initialDelayMs: 50, jitter: 0 } });
    await a.server.close();
    await until(() => !conn.isOpen, 2000);
    for (let i = 0; i < 5; i++) conn.send(1, u32(i));
    await until(() => delays.length >= 3, 5000, 'reconnect attempts');
    const b = await startServer('server', sdir, { onMessage }, a.port);
    await until(() => reconnected === 1, 10_000, 'reconnected');
    await until(() => got.length === 5, 5000);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(client.metrics().reconnects).toBe(1);
    void b;
  });

  it('metrics: exact values for a scripted scenario', async () => {
    const { sdir, cdir } = dirs();
    const s = await startServer('server', sdir, { onMessage: echo });
    const client = mkClient(shortName('met'), cdir);
    let got = 0;
    client.onMessage = (_m, c) => { got++; c.pop(); };
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    for (let i = 0; i < 7; i++) conn.send(1, u32(i));
    await until(() => got === 7, 3000);
    await until(() => conn.stats().sendQueueMessages === 0, 3000);
    const st = conn.stats();
    expect(st).toMatchObject({ messagesSent: 7, messagesReceived: 7, myAck: 7, readSeq: 7, seqEnd: 7, logins: 1, resentMessages: 0, sendQueueMessages: 0 });
    expect(s.server.metrics()).toMatchObject({ liveConnections: 1, boundConnections: 1, accepted: 1 });
  });

  it('alloc/push/pop argument errors (§7)', async () => {
    const { sdir, cdir } = dirs();
    const s = await startServer('server', sdir);
    const client = mkClient(shortName('arg'), cdir, { maxMessageSize: 1000 });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { return (e as { code: string }).code; } };
    expect(code(() => conn.alloc(4, 0))).toBe('ERR_TCPSHM_RESERVED_MSG_TYPE');
    expect(code(() => conn.alloc(4, 70000))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => conn.alloc(4, 1.5))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => conn.alloc(-1, 1))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => conn.alloc(993, 1))).toBe('ERR_MESSAGE_TOO_LARGE');
    expect(code(() => conn.alloc(992, 1))).toBe('none');
    conn.push();
    expect(code(() => conn.push())).toBe('ERR_TCPSHM_NO_PENDING_ALLOC');
    expect(code(() => conn.pop())).toBe('ERR_TCPSHM_NOTHING_TO_POP');
    expect(code(() => conn.send(0, new Uint8Array(1)))).toBe('ERR_TCPSHM_RESERVED_MSG_TYPE');
    const e = await client.connect({ host: '127.0.0.1', port: s.port }).catch((x: unknown) => x);
    expect(isTcpshmError(e, 'ERR_TCPSHM_ALREADY_CONNECTED')).toBe(true);
    const other = mkClient(shortName('arg'), cdir);
    const e2 = await other.connect({ host: '127.0.0.1', port: s.port, loginUserData: new Uint8Array(2) }).catch((x: unknown) => x);
    expect(isTcpshmError(e2, 'ERR_INVALID_ARGUMENT')).toBe(true);
  });

  it('a seq mismatch during auto-reconnect is fatal: reconnectFailed and no further attempts', async () => {
    const { sdir, cdir } = dirs();
    const name = shortName('rcf');
    const a = await startServer('server', sdir, { onMessage: (_m: Message, c: TcpshmConnection) => c.pop() });
    const client = mkClient(name, cdir);
    const failed: string[] = [];
    client.on('reconnectFailed', (e) => failed.push(e.code));
    const conn = await client.connect({ host: '127.0.0.1', port: a.port, reconnect: { initialDelayMs: 20, jitter: 0 } });
    for (let i = 0; i < 3; i++) conn.send(1, u32(i));
    await until(() => conn.stats().sendQueueMessages === 0, 3000);
    await a.server.close();
    // The server loses its state: it now answers ack 0, range [0, 0] while the client announces ack 0, range [3, 3]... and
    // the server's own check fails on the client's numbers.
    const { rmSync } = await import('node:fs');
    rmSync(join(sdir, `server_${name}.ptcp`));
    await startServer('server', sdir, {}, a.port);
    await until(() => failed.length === 1, 10_000, 'reconnectFailed');
    expect(failed).toEqual(['ERR_TCPSHM_SEQ_MISMATCH']);
    const attempts = client.metrics().reconnectAttempts;
    await new Promise((r) => setTimeout(r, 200));
    expect(client.metrics().reconnectAttempts).toBe(attempts);
  });

  it('while the app refuses to pop (receive buffer full, socket paused) no timeout fires; popping resumes', async () => {
    const { sdir, cdir } = dirs();
    let hold = true, n = 0;
    const s = await startServer('server', sdir, { tcpRecvBufInitSize: 1024, tcpRecvBufMaxSize: 4096, connectionTimeoutMs: 300,
      onMessage: (_m: Message, c: TcpshmConnection) => { if (hold) return; n++; c.pop(); } });
    const client = mkClient(shortName('pau'), cdir, { connectionTimeoutMs: 300 });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    for (let i = 0; i < 400; i++) conn.send(1, new Uint8Array(100));
    const sc = [...s.server.liveConnections()][0]!;
    // Paused once 4096 bytes are buffered; the complete frames among them (112 bytes each) are counted here.
    await until(() => sc.stats().recvPendingBytes >= 4096 - 2 * 112, 5000, 'receive buffer full');
    await new Promise((r) => setTimeout(r, 800)); // well past connectionTimeoutMs on both sides
    expect(sc.isOpen).toBe(true);
    expect(conn.isOpen).toBe(true);
    hold = false;
    sc.resume();
    await until(() => n === 400, 10_000, 'all delivered after resuming');
  });

  it("a handler holding until 'drain' is resumed by the space the next login's ack frees", async () => {
    const { sdir, cdir } = dirs();
    let echoed = 0;
    const s = await startServer('server', sdir, { tcpQueueSize: 256, ackDelayMs: false, heartbeatIntervalMs: 60_000, connectionTimeoutMs: 120_000,
      onMessage: (m: Message, c: TcpshmConnection) => { const out = c.alloc(m.length, m.type); if (!out) { c.once('drain', () => c.resume()); return; } out.set(m.payload); c.push(); c.pop(); echoed++; } });
    const client = mkClient(shortName('drn'), cdir, { heartbeatIntervalMs: 60_000, connectionTimeoutMs: 120_000 });
    const conn = await client.connect({ host: '127.0.0.1', port: s.port });
    conn.on('disconnect', () => undefined);
    // The client never pops: the server's 256-byte queue fills with unacked echoes and its handler holds.
    for (let i = 0; i < 20; i++) conn.send(1, new Uint8Array(40));
    await until(() => echoed > 0 && s.server.connection(client.name)!.held, 3000, 'server holding');
    const held = echoed;
    await until(() => conn.stats().recvPendingMessages === held, 3000, 'echoes at the client');
    // The client pops everything it has, drops the link and logs in again: its login ack frees the server's queue.
    while (conn.front()) conn.pop();
    conn.close();
    await until(() => !s.server.connection(client.name)!.isOpen, 2000);
    await client.connect({ host: '127.0.0.1', port: s.port });
    let got = 0;
    client.onMessage = (_m, c) => { got++; c.pop(); };
    await until(() => echoed === 20, 5000, 'the held handler resumed');
    expect(echoed).toBeGreaterThan(held);
  });
});
