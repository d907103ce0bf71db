import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, spawnFixture, type Child } from '@shmkit/testkit';
import { removeTcpshmState } from '../src/index.js';
import { echoCheck } from './echo-check.js';
import { shortName, tempDir } from './util.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
afterEach(() => killAll());

const windowOf = (statePath: string): number | undefined => {
  if (!existsSync(statePath)) return undefined;
  const b = readFileSync(statePath);
  if (b.length < 12) return undefined;
  const w = b.readUInt32LE(8);
  return w === 0xffffffff ? undefined : w;
};

async function killLoop(victim: 'client' | 'server', mode: 'tcp' | 'shm', total: number, kills: number, env: Record<string, string> = {}) {
  const t = tempDir('crash');
  const sdir = join(t.dir, 's'), cdir = join(t.dir, 'c');
  const sname = shortName('srv'), cname = shortName('cli');
  const sstate = join(t.dir, 'server.state'), cstate = join(t.dir, 'client.state'), log = join(t.dir, 'echo.log');
  const allowed = new Map<number, number>();
  const allow = (w: number | undefined) => { if (w !== undefined) allowed.set(w, (allowed.get(w) ?? 0) + 1); };
  let seed = 0x1234 + kills;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
  const startServer = async (port: number) => {
    const s = spawnFixture(fixture('echo-server.ts'), [sname, sdir, String(port), sstate], env);
    const line = await s.waitLine((l) => l.startsWith('listening') || l.startsWith('error'), 30_000);
    if (!line.startsWith('listening')) throw new Error(line);
    return { s, port: Number(line.split(' ')[1]) };
  };
  const startClient = (port: number) => spawnFixture(fixture('echo-client.ts'), [cname, cdir, String(port), String(total), cstate, log, mode], env);
  try {
    let { s: server, port } = await startServer(0);
    let client: Child = startClient(port);
    await client.waitLine((l) => l === 'connected', 30_000);
    for (let i = 0; i < kills; i++) {
      await new Promise((r) => setTimeout(r, 50 + rnd() * 450));
      if (victim === 'client') {
        client.kill('SIGKILL'); await client.exited;
        allow(windowOf(cstate));
        client = startClient(port);
      } else {
        server.kill('SIGKILL'); await server.exited;
        allow(windowOf(sstate));
        ({ s: server } = await startServer(port));
      }
    }
    await client.waitLine((l) => l === 'done' || l.startsWith('bad') || l.startsWith('reconnectFailed'), 120_000);
    client.kill('SIGKILL'); server.kill('SIGKILL');
    await client.exited; await server.exited;
    const r = echoCheck(log, total, allowed);
    expect(r.entries).toBeGreaterThan(0);
    return r;
  } finally {
    await removeTcpshmState({ ptcpDir: cdir, localName: cname, remoteName: sname, role: 'client', shmNaming: 'reference' }).catch(() => undefined);
    await removeTcpshmState({ ptcpDir: sdir, localName: sname, role: 'server', shmNaming: 'reference' }).catch(() => undefined);
    t.cleanup();
  }
}

describe('SIGKILL loops with the echo check (§8.3)', () => {
  it('client killed 10 times, TCP mode, 100 000 ints', async () => { await killLoop('client', 'tcp', 100_000, 10); }, 240_000);
  it('server killed 10 times, TCP mode, 100 000 ints', async () => { await killLoop('server', 'tcp', 100_000, 10); }, 240_000);
});

describe('SIGKILL loops with the echo check, SHM mode (§8.3)', () => {
  // A 4 KiB ring and padded payloads: mixed 1..4-block records, hundreds of laps with wrap markers.
  const wrap = { TCPSHM_SHM: '4096', TCPSHM_PAD: '1', TCPSHM_WAIT: 'hybrid' };
  it('client killed 10 times, SHM mode, 100 000 ints', async () => { await killLoop('client', 'shm', 100_000, 10, wrap); }, 240_000);
  it('server killed 10 times, SHM mode, 100 000 ints', async () => { await killLoop('server', 'shm', 100_000, 10, wrap); }, 240_000);
});

/** One SIGKILL at a named test point of the victim, a restart, a full echo check, a clean PTCP sanity check. */
async function pointCrash(victim: 'client' | 'server', mode: 'tcp' | 'shm', point: string, hit: number, env: Record<string, string>, total = 3000) {
  const t = tempDir('point');
  const sdir = join(t.dir, 's'), cdir = join(t.dir, 'c');
  const sname = shortName('psrv'), cname = shortName('pcli');
  const sstate = join(t.dir, 'server.state'), cstate = join(t.dir, 'client.state'), log = join(t.dir, 'echo.log');
  const allowed = new Map<number, number>();
  const allow = (w: number | undefined) => { if (w !== undefined) allowed.set(w, (allowed.get(w) ?? 0) + 1); };
  const kill = { TCPSHM_KILL_AT: `${point}:${hit}`, SHMKIT_TEST_POINTS: '1' };
  const startServer = async (port: number, e: Record<string, string>) => {
    const s = spawnFixture(fixture('echo-server.ts'), [sname, sdir, String(port), sstate], { ...env, ...e });
    const line = await s.waitLine((l) => l.startsWith('listening') || l.startsWith('error'), 30_000);
    if (!line.startsWith('listening')) throw new Error(line);
    return { s, port: Number(line.split(' ')[1]) };
  };
  const startClient = (port: number, e: Record<string, string>) =>
    spawnFixture(fixture('echo-client.ts'), [cname, cdir, String(port), String(total), cstate, log, mode], { ...env, ...e });
  try {
    let { s: server, port } = await startServer(0, victim === 'server' ? kill : {});
    let client = startClient(port, victim === 'client' ? kill : {});
    const v = victim === 'client' ? client : server;
    const first = await Promise.race([v.exited.then(() => 'killed'), client.waitLine((l) => l === 'done', 60_000).then(() => 'done')]);
    expect(first).toBe('killed');
    if (victim === 'client') { allow(windowOf(cstate)); client = startClient(port, {}); }
    else { allow(windowOf(sstate)); ({ s: server } = await startServer(port, {})); }
    const end = await client.waitLine((l) => l === 'done' || l.startsWith('bad') || l.startsWith('reconnectFailed'), 60_000);
    expect(end).toBe('done');
    client.kill('SIGKILL'); server.kill('SIGKILL'); await client.exited; await server.exited;
    echoCheck(log, total, allowed);
    if (mode === 'tcp') {
      const { PtcpQueue } = await import('../src/internal/ptcp-queue.js');
      for (const f of [join(cdir, `${cname}_${sname}.ptcp`), join(sdir, `${sname}_${cname}.ptcp`)]) {
        const bytes = new Uint8Array(readFileSync(f));
        expect(() => new PtcpQueue({ bytes, written() {}, flush() {} }, { little: true, compaction: 'crash-safe', durability: 'none', maxMessageSize: 65535 }).open()).not.toThrow();
      }
    }
  } finally {
    await removeTcpshmState({ ptcpDir: cdir, localName: cname, remoteName: sname, role: 'client', shmNaming: 'reference' }).catch(() => undefined);
    await removeTcpshmState({ ptcpDir: sdir, localName: sname, role: 'server', shmNaming: 'reference' }).catch(() => undefined);
    t.cleanup();
  }
}

describe('chosen-point crashes (§8.3 44)', () => {
  const small = { TCPSHM_QUEUE: '512', TCPSHM_PIPELINE: '8', TCPSHM_PAD: '1' };
  const cases: Array<[string, 'client' | 'server', 'tcp' | 'shm', string, number, Record<string, string>]> = [
    ['client between alloc and push', 'client', 'tcp', 'echo.allocPush', 50, {}],
    ['client compaction after the copy', 'client', 'tcp', 'tcpshm-queue.compact.afterCopy', 3, small],
    ['server compaction after the commit', 'server', 'tcp', 'tcpshm-queue.compact.afterCommit', 3, small],
    ['client applyAck after the journal store', 'client', 'tcp', 'tcpshm-queue.ack.afterJournal', 40, {}],
    ['server after pop before the ack is sent', 'server', 'tcp', 'tcpshm-queue.pop.beforeAck', 40, {}],
    ['client during the .lastserver replacement', 'client', 'tcp', 'tcpshm-queue.lastserver.beforeRename', 1, {}],
    ['client ring push before the commit', 'client', 'shm', 'tcpshm-queue.ring.beforeCommit', 60, { TCPSHM_SHM: '1024' }],
    ['server right after a published wrap marker', 'server', 'shm', 'tcpshm-queue.ring.afterWrapMarker', 2, { TCPSHM_SHM: '1024', TCPSHM_PAD: '1' }],
  ];
  it.each(cases)('%s', async (_n, victim, mode, point, hit, env) => { await pointCrash(victim, mode, point, hit, env); }, 120_000);
});
