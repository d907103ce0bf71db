import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture } from '@shmkit/testkit';
import { TcpshmClient, TcpshmServer, removeTcpshmState } from '../src/index.js';
import { shortName, tempDir } from './util.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => { killAll(); for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });

describe('locks across processes (§8.2 32, 36)', () => {
  it.each(['tcp', 'shm'] as const)('%s: a second process with the same name and directory gets ERR_TCPSHM_FILE_LOCKED; after close it can log in', async (mode) => {
    const st = tempDir('lks'), ct = tempDir('lkc');
    const sname = shortName('lks'), cname = shortName('lkc');
    const server = new TcpshmServer({ name: sname, ptcpDir: st.dir, shmQueueSize: 65536, wait: { mode: 'spin' }, duplicateLogin: 'replace' });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = new TcpshmClient({ name: cname, ptcpDir: ct.dir, shmQueueSize: 65536, wait: { mode: 'spin' } });
    cleanups.push(async () => {
      await client.close(); await server.close();
      await removeTcpshmState({ ptcpDir: ct.dir, localName: cname, remoteName: sname, role: 'client' });
      st.cleanup(); ct.cleanup();
    });
    await client.connect({ host: '127.0.0.1', port, shm: mode === 'shm' });
    const probe = spawnFixture(fixture('lock-probe.ts'), [cname, ct.dir, String(port), mode]);
    expect(await probe.waitLine(() => true, 30_000)).toBe('ERR_TCPSHM_FILE_LOCKED');
    await probe.exited;
    await client.close();
    const again = spawnFixture(fixture('lock-probe.ts'), [cname, ct.dir, String(port), mode]);
    expect(await again.waitLine(() => true, 30_000)).toBe('ok');
    await again.exited;
  }, 60_000);
});
