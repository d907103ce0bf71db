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

async function killLoop(victim: 'client' | 'server', mode: 'tcp' | 'shm', total: number, kills: number) {
  const t = tempDir('crash');
  const sdir = join(t.dir, 's'), cdir = join(t.dir, 'c');
  const sname = shortName('srv'), cname = shortName('cli');
  const sstate = join(t.dir, 'server.state'), cstate = join(t.dir, 'client.state'), log = join(t.dir, 'echo.log');
  const allowed = new Map<number, number>();
  const allow = (w: number | undefined) => { if (w !== undefined) allowed.set(w, (allowed.get(w) ?? 0) + 1); };
  let seed = 0x1234 + kills;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
  const startServer = async (port: number) => {
    const s = spawnFixture(fixture('echo-server.ts'), [sname, sdir, String(port), sstate]);
    const line = await s.waitLine((l) => l.startsWith('listening') || l.startsWith('error'), 30_000);
    if (!line.startsWith('listening')) throw new Error(line);
    return { s, port: Number(line.split(' ')[1]) };
  };
  const startClient = (port: number) => spawnFixture(fixture('echo-client.ts'), [cname, cdir, String(port), String(total), cstate, log, mode]);
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
    await removeTcpshmState({ ptcpDir: cdir, localName: cname, role: 'client', shmNaming: 'reference' }).catch(() => undefined);
    await removeTcpshmState({ ptcpDir: sdir, localName: sname, role: 'server', shmNaming: 'reference' }).catch(() => undefined);
    t.cleanup();
  }
}

describe('SIGKILL loops with the echo check (§8.3)', () => {
  it('client killed 10 times, TCP mode, 100 000 ints', async () => { await killLoop('client', 'tcp', 100_000, 10); }, 240_000);
  it('server killed 10 times, TCP mode, 100 000 ints', async () => { await killLoop('server', 'tcp', 100_000, 10); }, 240_000);
});

describe('SIGKILL loops with the echo check, SHM mode (§8.3)', () => {
  it('client killed 10 times, SHM mode, 100 000 ints', async () => { await killLoop('client', 'shm', 100_000, 10); }, 240_000);
  it('server killed 10 times, SHM mode, 100 000 ints', async () => { await killLoop('server', 'shm', 100_000, 10); }, 240_000);
});
