// tcpshm-queue.echo-*: the reference's echo method (tcpshm-queue.md §9) — a server process echoes every
// message back on the same persistent connection; the client sends one message (msg_type random in 1..4,
// every payload byte written straight into the PTCP file or the ring), waits for the echo, verifies it
// and pops it. params: { shm: boolean, durability: 'none'|'msync'|'fsync-on-push', driver: 'auto'|'manual',
// api: 'handler' (default: onMessage + poll()/driver) | 'peek' (manual driver, allocation-free peekOffset/pop loops) }.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { TcpshmClient, TcpshmServer, removeTcpshmState, type Message, type TcpshmConnection } from '@shmkit/tcpshm-queue';
import { defineRole, type ModeLabel, type RoleContext } from '../api.js';

type Durability = 'none' | 'msync' | 'fsync-on-push';
let ctx: RoleContext, dir = '', server: TcpshmServer | undefined, client: TcpshmClient | undefined, conn: TcpshmConnection | undefined;
let clientName = '', serverName = '';
let echoed = 0, target = 0, echoFailure: Error | undefined, onEchoed: (() => void) | undefined;

/** Names of the pair: ≤ 15 characters (nameSize 16); the client's is the cell name, so the rings
 *  (`/shmkit.tcpshm-queue.<client>_<server>…`) fall under the runner's leak check. */
function names(c: RoleContext): void { clientName = c.name; serverName = `srv-${c.name.replace(/^bench-/, '')}`; }
function waitConfig(mode: ModeLabel) {
  return mode === 'hybrid' ? { mode: 'hybrid' as const, spinBudgetUs: 50 } : mode === 'block' ? { mode: 'block' as const } : { mode: 'spin' as const };
}
const yieldLoop = () => new Promise<void>((res) => setImmediate(res));

/** Both roles tear down at once: a shared ring stays role-locked (OFD lock) until the peer has closed
 *  it, so removal is retried on ERR_TCPSHM_FILE_LOCKED for a bounded time. */
async function removeWhenReleased(o: Parameters<typeof removeTcpshmState>[0]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try { await removeTcpshmState(o); return; } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_TCPSHM_FILE_LOCKED' || Date.now() > deadline) throw e;
      await new Promise((res) => setTimeout(res, 5));
    }
  }
}

/** Server handler: copy the payload into a new record of the same type, push, pop. */
function echo(m: Message, c: TcpshmConnection): void {
  const off = c.allocAt(m.length, m.type);
  if (off < 0) { echoFailure ??= new Error(`echo: no space for a ${m.length}-byte record`); c.pop(); return; }
  c.sendBuffer.set(m.payload, off);
  c.push();
  c.pop();
  if (++echoed >= target && onEchoed) onEchoed();
}

async function runRole(n: number, warmup: number): Promise<Float64Array | void> {
  const total = n + warmup;
  const deadline = Date.now() + 30_000 + 5 * total; // bounded: 30 s plus 5 ms per round trip (loaded machines)
  const manual = ctx.params.driver === 'manual';
  if (ctx.role === 'server') {
    target += total;
    if (ctx.params.api === 'peek') {
      const c = server!.connection(clientName, 'shm');
      if (!c) throw new Error('server: no SHM connection of the client');
      while (echoed < target) {
        const t0 = performance.now();
        while (echoed < target && performance.now() - t0 < 1) {
          for (let k = 0; k < 256 && echoed < target; k++) {
            const off = c.peekOffset();
            if (off < 0) continue;
            const len = c.peekLength(), o2 = c.allocAt(len, c.peekType());
            if (o2 < 0) throw new Error(`echo: no space for a ${len}-byte record`);
            c.sendBuffer.set(c.recvBuffer.subarray(off, off + len), o2);
            c.push(); c.pop(); echoed++;
          }
        }
        if (Date.now() > deadline) throw new Error(`server: ${echoed}/${target} echoed at the deadline`);
        await yieldLoop();
      }
    } else if (manual) {
      // Manual poll() loop that yields to the event loop (socket, heartbeats, runner) every 1 ms.
      while (echoed < target) {
        const t0 = performance.now();
        while (echoed < target && performance.now() - t0 < 1) server!.poll();
        if (Date.now() > deadline) throw new Error(`server: ${echoed}/${target} echoed at the deadline`);
        await yieldLoop();
      }
    } else if (echoed < target) {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`server: ${echoed}/${target} echoed at the deadline`)), deadline - Date.now());
        onEchoed = () => { clearTimeout(t); onEchoed = undefined; res(); };
      });
    }
    if (echoFailure) throw echoFailure;
    return;
  }

  const c = conn!, size = ctx.size;
  const lat = new Float64Array(n);
  // msg_type random in 1..4 (the reference's echo test); drawn ahead so the loop does not call Math.random.
  const types = new Uint8Array(4096);
  for (let k = 0; k < types.length; k++) types[k] = 1 + Math.floor(Math.random() * 4);
  let i = 0, sentType = 0, b = 0, t = 0n, failure: Error | undefined, got = false;
  const send = () => {
    i++;
    b = i & 0xff; sentType = types[i & 4095]!;
    t = process.hrtime.bigint();
    const off = c.allocAt(size, sentType);
    if (off < 0) throw new Error(`no space for message ${i}`);
    c.sendBuffer.fill(b, off, off + size);
    c.push();
  };
  const check = (m: Message): void => {
    const p = m.payload;
    if (m.type !== sentType || p.length !== size || (size > 0 && (p[0] !== b || p[size - 1] !== b))) throw new Error(`echo mismatch at ${i}`);
    if ((i & 1023) === 0) for (let k = 0; k < size; k++) if (p[k] !== b) throw new Error(`payload byte ${k} wrong at ${i}`);
  };
  const record = () => {
    const dt = Number(process.hrtime.bigint() - t);
    if (i > warmup) lat[i - warmup - 1] = dt;
  };

  if (ctx.params.api === 'peek') {
    let last = performance.now();
    const rb = c.recvBuffer;
    while (i < total) {
      send();
      let off = -1;
      for (let k = 1; (off = c.peekOffset()) < 0; k++) {
        if ((k & 0x3ff) === 0 && performance.now() - last >= 1) {
          if (Date.now() > deadline) throw new Error(`no echo for message ${i} before the deadline`);
          await yieldLoop(); last = performance.now();
        }
      }
      if (c.peekType() !== sentType || c.peekLength() !== size || (size > 0 && (rb[off] !== b || rb[off + size - 1] !== b))) throw new Error(`echo mismatch at ${i}`);
      if ((i & 1023) === 0) for (let k = 0; k < size; k++) if (rb[off + k] !== b) throw new Error(`payload byte ${k} wrong at ${i}`);
      c.pop();
      record();
      if (performance.now() - last >= 1) { await yieldLoop(); last = performance.now(); }
    }
    return lat;
  }

  if (manual) {
    client!.onMessage = (m, cc) => { check(m); cc.pop(); record(); got = true; };
    try {
      let last = performance.now();
      while (i < total) {
        got = false;
        send();
        for (let k = 1; !got; k++) {
          client!.poll(1);
          if ((k & 0x3ff) === 0) {
            const now = performance.now();
            if (now - last >= 1) {
              if (Date.now() > deadline) throw new Error(`no echo for message ${i} before the deadline`);
              await yieldLoop(); last = performance.now();
            }
          }
        }
        if (performance.now() - last >= 1) { await yieldLoop(); last = performance.now(); }
      }
    } finally { client!.onMessage = undefined; }
    return lat;
  }

  // Auto driver (SHM) or event-driven (TCP): the handler sends the next message.
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no echo for message ${i} before the deadline`)), deadline - Date.now());
    const finish = (e?: Error) => { clearTimeout(timer); client!.onMessage = undefined; if (e) rej(e); else res(); };
    client!.onMessage = (m, cc) => {
      try {
        check(m); cc.pop(); record();
        if (i >= total) { finish(); return; }
        send();
      } catch (e) { failure = e as Error; finish(failure); }
    };
    try { send(); } catch (e) { finish(e as Error); }
  });
  if (failure) throw failure;
  return lat;
}

defineRole({
  async setup(c) {
    ctx = c;
    names(c);
    const p = c.params as { shm?: boolean; durability?: Durability; driver?: 'auto' | 'manual' };
    const common = { durability: p.durability ?? 'none', shmDriver: p.driver ?? 'auto', wait: waitConfig(c.mode) } as const;
    dir = mkdtempSync(join(os.tmpdir(), `shmkit-bench-tcpshm-${c.role}-`));
    if (c.role === 'server') {
      server = new TcpshmServer({ name: serverName, ptcpDir: dir, ...common, onMessage: echo });
      server.on('error', (e) => { echoFailure ??= e; });
      const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
      return { port, dir };
    }
    client = new TcpshmClient({ name: clientName, ptcpDir: dir, ...common });
    client.on('error', () => {});
    const { port } = c.peers.server as { port: number };
    conn = await client.connect({ host: '127.0.0.1', port, shm: p.shm === true, timeoutMs: 10_000 });
    return { effectiveWaitMode: conn.effectiveWaitMode };
  },

  async run(n, warmup) {
    try { return await runRole(n, warmup); } catch (e) {
      // A failed cell is SIGKILLed without teardown: the client removes both state directories first
      // (the runner's leak check removes the rings in /dev/shm, whose names contain the cell name).
      if (ctx.role === 'client') {
        await client?.close().catch(() => {});
        for (const d of [dir, (ctx.peers.server as { dir?: string }).dir]) if (d) rmSync(d, { recursive: true, force: true });
      }
      throw e;
    }
  },

  async teardown() {
    if (client) {
      await client.close();
      await removeWhenReleased({ ptcpDir: dir, localName: clientName, remoteName: serverName, role: 'client' });
    }
    if (server) {
      await server.close();
      await removeWhenReleased({ ptcpDir: dir, localName: serverName, remoteName: clientName, role: 'server' });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
});
