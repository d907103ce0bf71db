import { readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Segment, SHM_DIR, isShmkitError, unlinkObject } from '@shmkit/shm-core';
import { TcpshmError } from './errors.js';
import { lockRole, ringObjectName } from './internal/shm-pair.js';

/** Runs `fn` while holding the flock of state file `path` (§5.2, §4.9): ERR_TCPSHM_FILE_LOCKED if a live process has it. */
function withFileLock(path: string, role: 'ptcp' | 'lastserver', fn: () => void): void {
  let size = 0;
  try { size = statSync(path).size; } catch { return; }
  let seg: Segment | undefined;
  if (size > 0) {
    try { seg = Segment.openOrCreateInPlace({ path }, { size, lock: true }).segment; } catch (e) {
      if (isShmkitError(e, 'ERR_LOCK_HELD')) throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${path} is in use`, { cause: e, details: { path, role } });
      throw e;
    }
  }
  try { fn(); } finally { seg?.close(); }
}

/** Unlinks ring object `obj` unless a live process holds one of its role locks. */
function removeRing(obj: string, ring: string): boolean {
  let size: number;
  try { size = statSync(SHM_DIR + obj).size; } catch { return false; }
  if (size > 0) {
    const target = obj.startsWith('/shmkit.') ? { package: 'tcpshm-queue' as const, name: ring, part: 'shm' } : { shmName: obj };
    let seg: Segment | undefined;
    try {
      seg = Segment.openOrCreateInPlace(target, { size }).segment;
      lockRole(seg, 'producer', ring); lockRole(seg, 'consumer', ring);
    } catch (e) {
      seg?.close();
      if ((e as { code?: string }).code === 'ERR_TCPSHM_FILE_LOCKED') throw e;
      // Vanished or resized in between: unlink whatever is there now.
    }
    seg?.close();
  }
  if (obj.startsWith('/shmkit.')) return unlinkObject(obj);
  // A reference-named ring has no shmkit prefix (§4.11), so unlinkObject does not take it; shm_unlink of a
  // POSIX object is the unlink of its /dev/shm entry.
  try { rmSync(SHM_DIR + obj); return true; } catch { return false; }
}

/** Deletes the persistent state of one pair, or of every pair of `localName` (§3.5). */
export async function removeTcpshmState(opts: {
  ptcpDir: string; localName: string; remoteName?: string;
  role: 'client' | 'server'; shmNaming?: 'reference' | 'shmkit';
}): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const { ptcpDir, localName } = opts;
  const naming = opts.shmNaming ?? 'reference';
  let remotes: string[] = [];
  if (opts.remoteName !== undefined) remotes = [opts.remoteName];
  else if (existsSync(ptcpDir)) {
    for (const f of readdirSync(ptcpDir)) {
      const m = /^(.+?)_(.+)\.ptcp$/.exec(f);
      if (m && m[1] === localName) remotes.push(m[2]!);
    }
    const prefix = naming === 'shmkit' ? 'shmkit.tcpshm-queue.' : '';
    for (const f of readdirSync(SHM_DIR)) {
      if (!f.startsWith(prefix) || !f.endsWith('.shm')) continue;
      const bare = f.slice(prefix.length, -4);
      if (prefix === '' && bare.startsWith('shmkit.')) continue;
      if (bare.startsWith(`${localName}_`)) remotes.push(bare.slice(localName.length + 1));
      if (bare.endsWith(`_${localName}`)) remotes.push(bare.slice(0, -localName.length - 1));
    }
    remotes = [...new Set(remotes)];
  }

  for (const remote of remotes) {
    const ptcp = join(ptcpDir, `${localName}_${remote}.ptcp`);
    if (existsSync(ptcp)) { withFileLock(ptcp, 'ptcp', () => rmSync(ptcp, { force: true })); removed.push(ptcp); }
    for (const [s, r] of [[localName, remote], [remote, localName]] as const) {
      const obj = ringObjectName(naming, s, r);
      if (removeRing(obj, `${s}_${r}`)) removed.push(obj);
      // Parking FIFOs a killed process could not unlink.
      for (const ch of ['data', 'space']) {
        const fifo = `/dev/shm/shmkit.tcpshm-queue.${s}_${r}.${ch}`;
        if (existsSync(fifo)) { rmSync(fifo, { force: true }); removed.push(fifo); }
      }
    }
  }
  if (opts.role === 'client') {
    const ls = join(ptcpDir, `${localName}.lastserver`);
    if (existsSync(ls)) { withFileLock(ls, 'lastserver', () => { rmSync(ls, { force: true }); rmSync(`${ls}.tmp`, { force: true }); }); removed.push(ls); }
  }
  return { removed };
}
