import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { killAll, leftovers, spawnFixture, uniqueName, type Child } from '@shmkit/testkit';
import {
  closeFd, dupFd, fstatFd, isShmkitError, MAX_FDS_PER_MESSAGE, objectPath, objectName, peerCredentials, pollFd,
  recvFds, Segment, sendFds, SHM_DIR, tcpPeerUid, UnixServer, UnixSocket, WakeHandle, watchFd,
  type RecvResult, type ShmkitErrorCode,
} from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/sock-peer.ts', import.meta.url));
afterEach(() => killAll());

const code = (c: ShmkitErrorCode) => (e: unknown) => isShmkitError(e, c);
const fdCount = () => readdirSync('/proc/self/fd').length;
/** A socket path under SHM_DIR (so the suite's leak check sees a forgotten one). */
const pathAddress = (label: string) => objectPath(objectName('shm-core', uniqueName(label), 'sock'));
const abstractAddress = (label: string) => `\0${objectName('shm-core', uniqueName(label)).slice(1)}`;
/** argv cannot carry NUL bytes: the fixture reads a leading '@' as the abstract namespace. */
const arg = (address: string) => address.replace(/^\0/, '@');

/** Listens on `address`, starts the fixture in `mode` against it and hands the accepted connection to `body`. */
async function withPeer(mode: string, address: string, body: (conn: UnixSocket, child: Child) => Promise<void>): Promise<void> {
  const server = UnixServer.listen(address);
  let conn: UnixSocket | undefined;
  try {
    const child = spawnFixture(fixture, [mode, arg(address)]);
    conn = await server.accepted({ timeoutMs: 20_000 });
    await body(conn, child);
  } finally { conn?.close(); server.close(); }
}

/** Resolves after a later libuv poll phase (one that would also report any other watched, ready fd),
 *  observed through a watcher on a fresh socket pair. */
async function laterPollPhase(): Promise<void> {
  const [c, d] = UnixSocket.pair();
  const w = watchFd(d.fd);
  try {
    const seen = new Promise<void>((resolve) => w.start({ readable: true }, () => { w.stop(); resolve(); }));
    c.send(new Uint8Array([1]));
    await seen;
  } finally { w.close(); c.close(); d.close(); }
}

async function recvOne(s: UnixSocket, into: Uint8Array, maxFds?: number): Promise<RecvResult> {
  const signal = AbortSignal.timeout(20_000);
  for (;;) {
    const r = s.recv(into, maxFds);
    if (r) return r;
    await s.readable({ signal });
  }
}

describe('UnixSocket.pair: messages, fds, waits', () => {
  it('passes bytes and fds; received fds are new fds of the same object; chunks form one message', async () => {
    const [a, b] = UnixSocket.pair();
    const wake = WakeHandle.eventfd();
    try {
      const data = new Uint8Array(64);
      data.set([1, 2, 3], 10);
      expect(a.send(data.subarray(10, 13), [wake.fd])).toBe(3);
      const into = new Uint8Array(32);
      const r = b.recv(into.subarray(4))!;
      expect(r).toMatchObject({ bytes: 3, eof: false, truncated: false, fdsTruncated: false });
      expect(r.credentials).toBeUndefined();
      expect([...into.subarray(4, 7)]).toEqual([1, 2, 3]);
      expect(r.fds).toHaveLength(1);
      const got = r.fds[0]!;
      expect(got).not.toBe(wake.fd);
      expect(fstatFd(got).ino).toBe(fstatFd(wake.fd).ino);
      const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${got}`, 'utf8'))![1]!;
      expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000); // O_CLOEXEC
      writeSync(got, Buffer.from(new BigUint64Array([3n]).buffer)); // signal through the received copy
      expect(wake.drain()).toBe(3);
      closeFd(got);
      expect(b.recv(into)).toBeUndefined();
      expect(a.send([new Uint8Array([7]), new Uint8Array([8, 9])])).toBe(3);
      expect(b.recv(into)).toMatchObject({ bytes: 3 });
      expect([...into.subarray(0, 3)]).toEqual([7, 8, 9]);
    } finally { a.close(); b.close(); wake.close(); }
  });

  it('maxFds 1 with 2 fds sent: fdsTruncated, the extra fd is closed, nothing leaks', () => {
    const [a, b] = UnixSocket.pair();
    const w1 = WakeHandle.eventfd(), w2 = WakeHandle.eventfd();
    try {
      const before = fdCount();
      expect(a.send(new Uint8Array([1]), [w1.fd, w2.fd])).toBe(1);
      const r = b.recv(new Uint8Array(8), 1)!;
      expect(r.fdsTruncated).toBe(true);
      expect(r.fds).toHaveLength(1);
      closeFd(r.fds[0]!);
      expect(fdCount()).toBe(before);
      // maxFds 0: every passed fd is closed
      expect(a.send(new Uint8Array([1]), [w1.fd])).toBe(1);
      const z = b.recv(new Uint8Array(8), 0)!;
      expect(z.fds).toEqual([]);
      expect(z.fdsTruncated).toBe(true);
      expect(fdCount()).toBe(before);
    } finally { a.close(); b.close(); w1.close(); w2.close(); }
  });

  it('seqpacket keeps message boundaries and reports truncation; EOF after the peer closes', () => {
    const [a, b] = UnixSocket.pair({ type: 'seqpacket' });
    try {
      a.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      a.send(new Uint8Array([9]));
      const into = new Uint8Array(4);
      expect(b.recv(into)).toMatchObject({ bytes: 4, truncated: true, eof: false });
      expect(b.recv(into)).toMatchObject({ bytes: 1, truncated: false });
      a.close();
      expect(b.recv(into)).toMatchObject({ bytes: 0, eof: true });
    } finally { a.close(); b.close(); }
  });

  it('dgram pair: a zero-length datagram is a message, not EOF', () => {
    const [a, b] = UnixSocket.pair({ type: 'dgram' });
    try {
      expect(a.send(new Uint8Array(0))).toBe(0);
      expect(b.recv(new Uint8Array(4))).toMatchObject({ bytes: 0, eof: false });
    } finally { a.close(); b.close(); }
  });

  it('readable(): resolves on data from a later turn, times out, aborts, is busy, and rejects on close', async () => {
    const [a, b] = UnixSocket.pair();
    try {
      const p = b.readable();
      await expect(b.readable()).rejects.toSatisfy(code('ERR_BUSY'));
      setImmediate(() => a.send(new Uint8Array([5])));
      await p;
      expect(b.recv(new Uint8Array(4))).toMatchObject({ bytes: 1 });
      await expect(b.readable({ timeoutMs: 10 })).rejects.toSatisfy(code('ERR_TIMEOUT'));
      const ac = new AbortController();
      const q = b.readable({ signal: ac.signal });
      ac.abort();
      await expect(q).rejects.toSatisfy(code('ERR_ABORTED'));
      await expect(b.readable({ signal: ac.signal })).rejects.toSatisfy(code('ERR_ABORTED'));
      await b.writable(); // an idle socket is writable
      const r = b.readable();
      b.close();
      await expect(r).rejects.toSatisfy(code('ERR_CLOSED'));
      expect(() => b.recv(new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
      await expect(b.readable()).rejects.toSatisfy(code('ERR_CLOSED'));
      // the peer is gone: a is readable (EOF) and sending fails with ERR_CONNECTION_CLOSED
      await a.readable({ timeoutMs: 10_000 });
      expect(a.recv(new Uint8Array(4))).toMatchObject({ eof: true });
      expect(() => a.send(new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_CLOSED' }));
    } finally { a.close(); b.close(); }
  });

  it('a peer that closes with unread data resets the connection: the wait wakes, recv says ERR_CONNECTION_CLOSED', async () => {
    const [a, b] = UnixSocket.pair();
    try {
      a.send(new Uint8Array([1]));
      const p = a.readable({ timeoutMs: 10_000 });
      b.close(); // with a's byte unread: the kernel sets ECONNRESET on a
      await p;
      let err: unknown;
      try { a.recv(new Uint8Array(4)); } catch (e) { err = e; }
      expect(err).toMatchObject({ code: 'ERR_CONNECTION_CLOSED', details: { reason: 'reset' }, errnoName: 'ECONNRESET' });
      expect(a.recv(new Uint8Array(4))).toMatchObject({ eof: true });
    } finally { a.close(); b.close(); }
  });

  it('watchFd reports a socket error as an event with error set, and stops itself', async () => {
    const [a, b] = UnixSocket.pair();
    const w = watchFd(a.fd);
    try {
      a.send(new Uint8Array([1]));
      const ev = new Promise<{ error?: unknown }>((resolve) => w.start({ readable: true }, resolve));
      b.close();
      const got = await ev;
      expect(isShmkitError(got.error, 'ERR_SYSCALL')).toBe(true);
    } finally { w.close(); a.close(); b.close(); }
  });

  it('shutdown(write) gives the peer EOF while it can still send back', async () => {
    const [a, b] = UnixSocket.pair();
    try {
      a.shutdown('write');
      expect(b.recv(new Uint8Array(4))).toMatchObject({ eof: true });
      b.send(new Uint8Array([4]));
      expect(a.recv(new Uint8Array(4))).toMatchObject({ bytes: 1, eof: false });
      expect(() => a.send(new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_CLOSED' }));
    } finally { a.close(); b.close(); }
  });

  it('send returns 0 when the socket buffer is full, and writable() resolves once the peer drains', async () => {
    const [a, b] = UnixSocket.pair();
    try {
      const chunk = new Uint8Array(65536);
      let sent = 0, n: number;
      for (let i = 0; i < 10_000 && (n = a.send(chunk)) > 0; i++) sent += n;
      expect(a.send(chunk)).toBe(0);
      const w = a.writable({ timeoutMs: 10_000 });
      const into = new Uint8Array(65536);
      let got = 0;
      for (let r = b.recv(into); r; r = b.recv(into)) got += r.bytes;
      await w;
      expect(got).toBe(sent);
      expect(a.send(chunk)).toBeGreaterThan(0);
    } finally { a.close(); b.close(); }
  });

  it('release() hands the fd to a node:net Socket that exchanges data', async () => {
    const [a, b] = UnixSocket.pair();
    const fd = a.release();
    expect(a.fd).toBe(-1);
    expect(() => a.send(new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    const net = new Socket({ fd, readable: true, writable: true });
    try {
      const received = new Promise<string>((resolve) => net.once('data', (d) => resolve(d.toString())));
      net.write('from net');
      const r = await recvOne(b, new Uint8Array(32));
      expect(r.bytes).toBe(8);
      b.send(new TextEncoder().encode('to net'));
      expect(await received).toBe('to net');
    } finally { net.destroy(); b.close(); }
  });

  it('low-level sendFds/recvFds on raw fds, and fromFd without ownership', () => {
    const [a, b] = UnixSocket.pair();
    const wake = WakeHandle.eventfd();
    try {
      expect(sendFds(a.fd, new Uint8Array([1]), [wake.fd])).toBe(1);
      const r = recvFds(b.fd, new Uint8Array(4))!;
      expect(r.fds).toHaveLength(1);
      closeFd(r.fds[0]!);
      expect(recvFds(b.fd, new Uint8Array(4))).toBeUndefined();
      const borrowed = UnixSocket.fromFd(b.fd, { takeOwnership: false });
      borrowed.close();
      expect(fstatFd(b.fd).isSocket).toBe(true); // still open: borrowed handles never close the fd
    } finally { a.close(); b.close(); wake.close(); }
  });
});

describe('bad input (§7)', () => {
  it('17 fds, fds with empty data, a closed fd, bad maxFds and buffers', () => {
    const [a, b] = UnixSocket.pair();
    const wake = WakeHandle.eventfd();
    try {
      expect(MAX_FDS_PER_MESSAGE).toBe(16);
      const seventeen = new Array<number>(17).fill(wake.fd);
      expect(() => a.send(new Uint8Array([1]), seventeen)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => a.send(new Uint8Array(0), [wake.fd])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => a.send([], [wake.fd])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => sendFds(a.fd, new Uint8Array([1]), seventeen)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => a.send(new Uint8Array([1]), [-1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      const closed = dupFd(wake.fd);
      closeFd(closed);
      let err: unknown;
      try { a.send(new Uint8Array([1]), [closed]); } catch (e) { err = e; }
      expect(err).toMatchObject({ code: 'ERR_SYSCALL', errnoName: 'EBADF', syscall: 'sendmsg' });
      expect(b.recv(new Uint8Array(4))).toBeUndefined(); // nothing was sent by the refused calls
      expect(() => b.recv(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => b.recv(new Uint8Array(4), 17)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => b.recv(new Uint8Array(4), 1.5)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => b.shutdown('sideways' as 'read')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => UnixSocket.pair({ type: 'raw' as 'stream' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    } finally { a.close(); b.close(); wake.close(); }
  });

  it('fromFd of something that is not a socket, and of a closed fd', () => {
    const name = uniqueName('notsock');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    const fd = openSync(objectPath(seg.objectName!), 'r');
    try {
      expect(() => UnixSocket.fromFd(fd)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => UnixSocket.fromFd(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      const gone = dupFd(fd);
      closeFd(gone);
      expect(() => UnixSocket.fromFd(gone)).toThrow(expect.objectContaining({ code: 'ERR_SYSCALL', errnoName: 'EBADF' }));
      expect(() => closeFd(gone)).toThrow(expect.objectContaining({ code: 'ERR_SYSCALL', errnoName: 'EBADF' }));
    } finally { closeSync(fd); seg.unlink(); seg.close(); }
  });

  it('listen: path above 107 bytes → ERR_INVALID_NAME; empty or NUL-containing addresses; dgram; bad options', () => {
    const long = `${SHM_DIR}/${'x'.repeat(120)}`;
    expect(() => UnixServer.listen(long)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(existsSync(long)).toBe(false);
    expect(() => UnixServer.listen(`\0${'y'.repeat(107)}`)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => UnixServer.listen('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => UnixServer.listen('/tmp/a\0b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    const abs = abstractAddress('badopt');
    expect(() => UnixServer.listen(abs, { type: 'dgram' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => UnixServer.listen(abs, { backlog: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => UnixServer.listen(abs, { mode: 0o1777 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('listen on a live path or abstract address → ERR_ADDRESS_IN_USE; a regular file is never replaced', () => {
    for (const address of [pathAddress('live'), abstractAddress('live')]) {
      const server = UnixServer.listen(address);
      try {
        expect(() => UnixServer.listen(address)).toThrow(expect.objectContaining({ code: 'ERR_ADDRESS_IN_USE' }));
        if (address.startsWith('/')) {
          // a path is one file whatever the socket type (the probe sees a live listener of another type)
          expect(() => UnixServer.listen(address, { type: 'seqpacket' })).toThrow(expect.objectContaining({ code: 'ERR_ADDRESS_IN_USE' }));
        } else {
          // Linux keeps abstract names per socket type: a seqpacket listener may share the stream one's name
          UnixServer.listen(address, { type: 'seqpacket' }).close();
        }
      } finally { server.close(); }
    }
    const file = pathAddress('file');
    writeFileSync(file, 'keep me');
    try {
      expect(() => UnixServer.listen(file)).toThrow(expect.objectContaining({ code: 'ERR_ADDRESS_IN_USE' }));
      expect(lstatSync(file).isFile()).toBe(true);
    } finally { rmSync(file); }
  });

  it('a stale socket file left by a SIGKILLed listener is replaced (unless replaceStale is false)', async () => {
    const address = pathAddress('stale');
    const child = spawnFixture(fixture, ['listen-forever', arg(address)]);
    await child.waitLine((l) => l === 'listening');
    expect(() => UnixServer.listen(address)).toThrow(expect.objectContaining({ code: 'ERR_ADDRESS_IN_USE' }));
    child.kill('SIGKILL');
    await child.exited;
    expect(lstatSync(address).isSocket()).toBe(true); // the dead listener's file stays
    let err: unknown;
    try { UnixServer.listen(address, { replaceStale: false }); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'ERR_ADDRESS_IN_USE', details: { stale: true } });
    const server = UnixServer.listen(address, { mode: 0o640 });
    try {
      expect(lstatSync(address).mode & 0o777).toBe(0o640);
      const c = await UnixSocket.connect(address);
      const s = (await server.accepted({ timeoutMs: 10_000 }));
      expect(s.peerCredentials().pid).toBe(process.pid);
      c.close(); s.close();
    } finally { server.close(); }
    expect(existsSync(address)).toBe(false);
  });

  it('connect to a missing path, a plain file or an unused abstract name → ERR_SERVER_NOT_RUNNING', async () => {
    await expect(UnixSocket.connect(pathAddress('missing'))).rejects.toSatisfy(code('ERR_SERVER_NOT_RUNNING'));
    await expect(UnixSocket.connect(abstractAddress('unused'))).rejects.toSatisfy(code('ERR_SERVER_NOT_RUNNING'));
    const ac = new AbortController();
    ac.abort();
    await expect(UnixSocket.connect(abstractAddress('unused'), { signal: ac.signal })).rejects.toSatisfy(code('ERR_ABORTED'));
    await expect(UnixSocket.connect(`${SHM_DIR}/${'z'.repeat(110)}`)).rejects.toSatisfy(code('ERR_INVALID_NAME'));
  });

  it('peerCredentials of a node:net Socket without a handle → ERR_INVALID_ARGUMENT', () => {
    expect(() => peerCredentials(new Socket())).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('fd passing across processes (§8 item 32)', () => {
  for (const kind of ['path', 'abstract'] as const) {
    it(`${kind} server: a shm object fd and an eventfd go to a child, which writes through them and sends one back`, async () => {
      const name = uniqueName(`fdpass-${kind}`);
      const address = kind === 'path' ? pathAddress('fdpass') : abstractAddress('fdpass');
      const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 8192 });
      const shmFd = openSync(objectPath(seg.objectName!), 'r+');
      const wake = WakeHandle.eventfd();
      // The name is gone before the child touches the object: it can only reach it through the passed fd.
      seg.unlink();
      try {
        await withPeer('fds', address, async (conn, child) => {
          expect(conn.peerCredentials().pid).toBe(child.proc.pid);
          expect(conn.send(new Uint8Array([0x17]), [shmFd, wake.fd])).toBe(1);
          expect(await wake.wait({ timeoutMs: 20_000 })).toBe(true);
          const r = await recvOne(conn, new Uint8Array(16));
          expect(r.bytes).toBe(1);
          expect(r.fds).toHaveLength(1);
          expect(await child.waitLine((l) => l.startsWith('got '))).toBe('got 1 2 true');
          const mapped = seg.uint8(4096, 256);
          for (let i = 0; i < 256; i++) expect(mapped[i]).toBe((i * 7 + 3) & 0xff);
          // The fd that came back is the same object too: write through it, read the mapping.
          const back = r.fds[0]!;
          expect(fstatFd(back).ino).toBe(fstatFd(shmFd).ino);
          writeSync(back, Buffer.from([0xee]), 0, 1, 100);
          expect(seg.uint8(100, 1)[0]).toBe(0xee);
          const check = Buffer.alloc(1);
          readSync(back, check, 0, 1, 4096);
          expect(check[0]).toBe(3);
          closeFd(back);
          conn.close();
          await child.waitLine((l) => l === 'done');
          expect(await child.exited).toBe(0);
        });
      } finally { wake.close(); closeSync(shmFd); seg.close(); }
      expect(leftovers(name)).toEqual([]);
      if (kind === 'path') expect(existsSync(address)).toBe(false);
    });
  }

  it('a sealed memfd segment and an eventfd go to a child, which maps it with fromFd, answers in it and sends back a memfd of its own', async () => {
    const name = uniqueName('memfdpass');
    const seg = Segment.createMemfd({ package: 'testkit', name, size: 65536, layoutMajor: 1,
      init: (s) => { Atomics.store(s.i32, s.dataOffset / 4, 4242); } });
    const wake = WakeHandle.eventfd();
    try {
      await withPeer('memfd', abstractAddress('memfd'), async (conn, child) => {
        expect(conn.send(new Uint8Array([1]), [seg.fd, wake.fd])).toBe(1);
        expect(await wake.wait({ timeoutMs: 20_000 })).toBe(true);
        expect(await child.waitLine((l) => l.startsWith('mapped '))).toBe('mapped 2 memfd 4242');
        expect(Atomics.load(seg.i32, seg.dataOffset / 4 + 1)).toBe(4243);
        const r = await recvOne(conn, new Uint8Array(16));
        expect([r.bytes, r.fds.length]).toEqual([1, 1]);
        // fromFd insists on the seals (default requireSeals) and checks the header the child wrote.
        const back = Segment.fromFd(r.fds[0]!, { package: 'testkit', kind: 5, layoutMajor: 1 });
        try {
          expect(back.kind).toBe('memfd');
          expect(back.size).toBe(8192);
          expect(back.header!.creator.pid).toBe(child.proc.pid);
          expect(Atomics.load(back.i32, back.dataOffset / 4)).toBe(8484);
        } finally { back.close(); }
        conn.close();
        await child.waitLine((l) => l === 'done');
        expect(await child.exited).toBe(0);
      });
    } finally { wake.close(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });

  it('a full backlog is retried until a slot frees; a connect aborted while waiting rejects ERR_ABORTED', async () => {
    const address = abstractAddress('backlog');
    const server = UnixServer.listen(address, { backlog: 1 });
    const socks: UnixSocket[] = [];
    try {
      socks.push(await UnixSocket.connect(address), await UnixSocket.connect(address)); // fills a backlog of 1
      const third = UnixSocket.connect(address);
      const accepted = server.accept()!; // frees one slot: the third connect's retry gets it
      socks.push(accepted, await third);
      const ac = new AbortController();
      const fourth = UnixSocket.connect(address, { signal: ac.signal });
      ac.abort();
      await expect(fourth).rejects.toSatisfy(code('ERR_ABORTED'));
    } finally { for (const s of socks) s.close(); server.close(); }
  });

  it('the async iterator yields every connection from a child and ends when the server closes', async () => {
    const address = pathAddress('iter');
    const server = UnixServer.listen(address);
    const child = spawnFixture(fixture, ['connect-many', arg(address), '3']);
    const got: UnixSocket[] = [];
    try {
      const loop = (async () => { for await (const s of server) { got.push(s); if (got.length === 3) break; } })();
      await loop;
      await child.waitLine((l) => l === 'connected 3');
      for (const s of got) expect(s.peerCredentials().pid).toBe(child.proc.pid);
      const after = (async () => { const seen: UnixSocket[] = []; for await (const s of server) seen.push(s); return seen; })();
      server.close();
      expect(await after).toEqual([]);
      await expect(server.accepted()).rejects.toSatisfy(code('ERR_CLOSED'));
    } finally { for (const s of got) s.close(); server.close(); }
    expect(await child.exited).toBe(0);
  });
});

describe('crashes and GC', () => {
  it('a sender SIGKILLed with fds in flight: the message and its fds still arrive, then EOF; nothing leaks', async () => {
    await withPeer('send-and-die', abstractAddress('inflight'), async (conn, child) => {
      await child.waitLine((l) => l === 'sent');
      child.kill('SIGKILL');
      await child.exited;
      const before = fdCount();
      const r = await recvOne(conn, new Uint8Array(8));
      expect(r.bytes).toBe(1);
      expect(r.fds).toHaveLength(2);
      for (const fd of r.fds) expect(fstatFd(fd).isFile).toBe(false);
      const counter = Buffer.alloc(8);
      expect(readSync(r.fds[0]!, counter, 0, 8, null)).toBe(8); // the dead sender's signal is still there
      expect(counter.readBigUInt64LE(0)).toBe(1n);
      for (const fd of r.fds) closeFd(fd);
      expect(fdCount()).toBe(before);
      expect(await recvOne(conn, new Uint8Array(8))).toMatchObject({ eof: true, fds: [] });
    });
  });

  it('a pending readable() survives garbage collection of its socket (fixture with gc exposed)', async () => {
    const child = spawnFixture(fixture, ['gc-wait', '-']);
    expect(await child.waitLine((l) => l.startsWith('resolved'))).toBe('resolved, 0 leak warnings');
    expect(await child.exited).toBe(0);
  });
});

describe('leak net (ARCHITECTURE §6, GAPS F10)', () => {
  it('a UnixSocket pair and a path UnixServer collected without close() warn SHMKIT_LEAK, close their fds and unlink the socket file', async () => {
    const address = pathAddress('gcleak');
    const child = spawnFixture(fixture, ['gc-leak', arg(address)]);
    try {
      expect(await child.waitLine((l) => l.startsWith('sockets'))).toBe('sockets true true true path true');
      const leaks = await child.waitLine((l) => l.startsWith('leaks'));
      expect(leaks).toMatch(/^leaks shmkit UnixServer \S+ was not closed \| shmkit UnixSocket \(fd \d+\) was not closed \| shmkit UnixSocket \(fd \d+\) was not closed$/);
      expect(leaks).toContain(`UnixServer ${address} was not closed`);
      expect(await child.waitLine((l) => l.startsWith('closed'))).toBe('closed true true true path false');
      expect(await child.waitLine((l) => l.startsWith('borrowed'))).toBe('borrowed open true');
      expect(await child.exited).toBe(0);
    } finally { rmSync(address, { force: true }); }
    expect(existsSync(address)).toBe(false);
  });
});

describe('peer credentials (§8 item 33)', () => {
  it('SO_PEERCRED names the connecting child on our side and us on its side', async () => {
    await withPeer('cred', abstractAddress('cred'), async (conn, child) => {
      const c = conn.peerCredentials();
      expect(c).toEqual({ pid: child.proc.pid, uid: process.getuid!(), gid: process.getgid!() });
      expect(peerCredentials(conn.fd)).toEqual(c);
      expect(await child.waitLine((l) => l.startsWith('peer '))).toBe(`peer ${process.pid} ${process.getuid!()} ${process.getgid!()}`);
      conn.close();
      expect(await child.exited).toBe(0);
    });
  });

  it('peerCredentials(net.Socket) on a node:net Unix connection from a child', async () => {
    const address = pathAddress('netcred');
    const server: Server = createServer();
    const conn = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(address, resolve));
    try {
      const child = spawnFixture(fixture, ['net-connect', arg(address)]);
      const s = await conn;
      expect(peerCredentials(s)).toEqual({ pid: child.proc.pid, uid: process.getuid!(), gid: process.getgid!() });
      s.destroy();
      expect(await child.exited).toBe(0);
    } finally { await new Promise((r) => server.close(r)); }
    expect(existsSync(address)).toBe(false);
  });

  it('passCredentials: a socketpair end handed to a child gives the child per message, while SO_PEERCRED names us', async () => {
    const [mine, theirs] = UnixSocket.pair({ passCredentials: true });
    try {
      await withPeer('pair', abstractAddress('passcred'), async (conn, child) => {
        conn.send(new Uint8Array([1]), [theirs.fd]);
        theirs.close();
        expect(await child.waitLine((l) => l.startsWith('pairpeer '))).toBe(`pairpeer ${process.pid}`);
        const into = new Uint8Array(64);
        const r = await recvOne(mine, into);
        expect(new TextDecoder().decode(into.subarray(0, r.bytes))).toBe('hello from child');
        expect(r.credentials).toEqual({ pid: child.proc.pid, uid: process.getuid!(), gid: process.getgid!() });
        expect(mine.peerCredentials().pid).toBe(process.pid); // the pair's creator (Flow-IPC bug #148)
        mine.close(); conn.close();
        expect(await child.exited).toBe(0);
      });
    } finally { mine.close(); theirs.close(); }
  });

  it('passCredentials on a server applies to accepted sockets', async () => {
    const address = abstractAddress('srvcred');
    const server = UnixServer.listen(address, { passCredentials: true });
    try {
      const c = await UnixSocket.connect(address);
      const s = await server.accepted({ timeoutMs: 10_000 });
      c.send(new Uint8Array([1]));
      const r = await recvOne(s, new Uint8Array(4));
      expect(r.credentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      c.close(); s.close();
    } finally { server.close(); }
  });
});

describe('fd utilities (§3.16)', () => {
  it('watchFd fires while readable, stops firing after stop(), and refuses a closed watcher', async () => {
    const [a, b] = UnixSocket.pair();
    const w = watchFd(b.fd);
    try {
      let fired = 0;
      const first = new Promise<void>((resolve) => w.start({ readable: true }, (ev) => { if (ev.readable) { fired++; w.stop(); resolve(); } }));
      a.send(new Uint8Array([1]));
      await first;
      expect(fired).toBe(1);
      // b is still readable (not drained) but its watcher is stopped: another watcher's event, delivered by
      // a later poll phase that would have reported b too, arrives while b's count stays at 1.
      await laterPollPhase();
      expect(fired).toBe(1);
      const writable = new Promise<boolean>((resolve) => w.start({ writable: true }, (ev) => { w.stop(); resolve(ev.writable); }));
      expect(await writable).toBe(true);
      expect(() => w.start({}, () => {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      w.close();
      expect(() => w.start({ readable: true }, () => {})).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    } finally { w.close(); a.close(); b.close(); }
  });

  it('watchFd fires on a FIFO written by a signaller and stays quiet once stopped', async () => {
    const name = uniqueName('fifowatch');
    const fifo = WakeHandle.createFifo('shm-core', name, 'wake');
    const signaller = WakeHandle.fifoSignaller('shm-core', name, 'wake');
    const w = watchFd(fifo.fd);
    try {
      expect(fstatFd(fifo.fd).isFifo).toBe(true);
      const fired = new Promise<boolean>((resolve) => w.start({ readable: true }, (ev) => { w.stop(); resolve(ev.readable); }));
      expect(signaller.signal()).toBe(true);
      expect(await fired).toBe(true);
      let after = 0;
      w.start({ readable: true }, () => { after++; });
      w.stop();
      expect(signaller.signal()).toBe(true); // still undrained and signalled again, but not watched
      expect(pollFd(fifo.fd, 'read', 0)).toBe(true);
      await laterPollPhase();
      expect(after).toBe(0);
      expect(fifo.drain()).toBe(2);
    } finally { w.close(); signaller.close(); fifo.close(); }
    expect(leftovers(name)).toEqual([]);
  });

  it('pollFd, dupFd and fstatFd', () => {
    const [a, b] = UnixSocket.pair();
    try {
      expect(pollFd(b.fd, 'read', 0)).toBe(false);
      expect(pollFd(a.fd, 'write', 0)).toBe(true);
      a.send(new Uint8Array([1]));
      expect(pollFd(b.fd, 'read', 1000)).toBe(true);
      const d = dupFd(b.fd);
      expect(d).not.toBe(b.fd);
      expect(fstatFd(d)).toMatchObject({ isSocket: true, isFile: false, isFifo: false, ino: fstatFd(b.fd).ino });
      closeFd(d);
      expect(() => pollFd(d, 'read', 0)).toThrow(expect.objectContaining({ code: 'ERR_SYSCALL' }));
      expect(() => pollFd(b.fd, 'read', -1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => dupFd(1.5)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    } finally { a.close(); b.close(); }
  });

  it('tcpPeerUid of a loopback connection from a child is our uid; unknown pairs give undefined', async () => {
    const server: Server = createServer();
    const conn = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const child = spawnFixture(fixture, ['tcp-connect', String(port)]);
      const s = await conn;
      const line = await child.waitLine((l) => l.startsWith('tcp '));
      expect(line).toBe(`tcp ${s.remoteAddress} ${s.remotePort}`);
      const local = { address: s.localAddress!, port: s.localPort! };
      const remote = { address: s.remoteAddress!, port: s.remotePort! };
      expect(tcpPeerUid(local, remote)).toBe(process.getuid!());
      expect(tcpPeerUid({ address: `::ffff:${local.address}`, port: local.port }, { address: `::ffff:${remote.address}`, port: remote.port })).toBe(process.getuid!());
      expect(tcpPeerUid(remote, local)).toBe(process.getuid!()); // the server's own socket, seen from the child's side
      expect(tcpPeerUid(local, { address: remote.address, port: remote.port === 1 ? 2 : 1 })).toBeUndefined();
      expect(tcpPeerUid(local, { address: '10.255.255.1', port: remote.port })).toBeUndefined();
      expect(tcpPeerUid(local, { address: 'not-an-ip', port: 1 })).toBeUndefined();
      expect(tcpPeerUid(local, { address: remote.address, port: 70_000 })).toBeUndefined();
      s.destroy();
      expect(await child.exited).toBe(0);
    } finally { await new Promise((r) => server.close(r)); }
  });

  it('tcpPeerUid over IPv6 loopback (skipped where ::1 is unavailable)', async () => {
    const server: Server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, '::1', () => resolve(true));
    });
    if (!listening) return;
    try {
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const client = new Socket();
      await new Promise<void>((resolve) => client.connect((server.address() as AddressInfo).port, '::1', resolve));
      const s = await accepted;
      expect(tcpPeerUid({ address: s.localAddress!, port: s.localPort! }, { address: s.remoteAddress!, port: s.remotePort! })).toBe(process.getuid!());
      expect(tcpPeerUid({ address: '0:0:0:0:0:0:0:1', port: s.localPort! }, { address: '::1', port: s.remotePort! })).toBe(process.getuid!());
      client.destroy(); s.destroy();
    } finally { await new Promise((r) => server.close(r)); }
  });
});
