import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Segment } from '@shmkit/shm-core';
import { TcpshmError } from './errors.js';
import { PidLock } from './internal/storage.js';

/** Deletes the persistent state of one pair, or of every pair of `localName` (§3.5). */
export async function removeTcpshmState(opts: {
  ptcpDir: string; localName: string; remoteName?: string;
  role: 'client' | 'server'; shmNaming?: 'reference' | 'shmkit';
}): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const { ptcpDir, localName } = opts;
  const part = (opts.shmNaming ?? 'reference') === 'shmkit' ? 'shm' : 'refshm';
  let remotes: string[] = [];
  if (opts.remoteName !== undefined) remotes = [opts.remoteName];
  else if (existsSync(ptcpDir)) {
    for (const f of readdirSync(ptcpDir)) {
      const m = /^(.+?)_(.+)\.ptcp$/.exec(f);
      if (m && m[1] === localName) remotes.push(m[2]!);
      const r = /^(.+?)_(.+)\.(?:shm|refshm)\.(?:producer|consumer)\.lock$/.exec(f);
      if (r && r[1] === localName) remotes.push(r[2]!);
    }
    remotes = [...new Set(remotes)];
  }
  const take = (path: string, role: string): PidLock => {
    try { return PidLock.acquire(path, role, 0o600); } catch (e) {
      throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${path} is in use`, { cause: e, details: { path, role } });
    }
  };
  for (const remote of remotes) {
    const ptcp = join(ptcpDir, `${localName}_${remote}.ptcp`);
    if (existsSync(ptcp)) { const l = take(ptcp, 'ptcp'); rmSync(ptcp, { force: true }); l.release(); removed.push(ptcp); }
    for (const [s, r] of [[localName, remote], [remote, localName]] as const) {
      if (Segment.unlink('tcpshm-queue', `${s}_${r}`, part)) removed.push(`/shmkit.tcpshm-queue.${s}_${r}.${part}`);
      // Parking FIFOs a killed process could not unlink.
      for (const ch of ['data', 'space']) {
        const fifo = `/dev/shm/shmkit.tcpshm-queue.${s}_${r}.${ch}`;
        if (existsSync(fifo)) { rmSync(fifo, { force: true }); removed.push(fifo); }
      }
    }
  }
  if (opts.role === 'client') {
    const ls = join(ptcpDir, `${localName}.lastserver`);
    if (existsSync(ls)) { const l = take(ls, 'lastserver'); rmSync(ls, { force: true }); rmSync(`${ls}.tmp`, { force: true }); l.release(); removed.push(ls); }
  }
  return { removed };
}
