import { readFileSync, statSync } from 'node:fs';

/** Start time (clock ticks after boot) and state letter of a process, or undefined if it is gone. */
function procStat(pid: number): { start: bigint; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', start: BigInt(fields[19] ?? '0') };
  } catch { return undefined; }
}

export function selfStartTime(): bigint { return procStat(process.pid)?.start ?? 0n; }

let nsCache: number | undefined;
/** Inode of this process's pid namespace (0 if unreadable). */
export function selfPidNs(): number {
  if (nsCache === undefined) {
    try { nsCache = Number(statSync('/proc/self/ns/pid').ino) >>> 0; } catch { nsCache = 0; }
  }
  return nsCache;
}

/**
 * 'alive' | 'dead' | 'unknown' for (pid, startTime) in our pid namespace, decided without timeouts:
 * a missing /proc entry, a zombie or a different start time (pid reuse) is dead.
 * (Local stand-in for shm-core's processLiveness, which is not on this branch yet.)
 */
export function processLiveness(pid: number, startTime: bigint): 'alive' | 'dead' | 'unknown' {
  if (!Number.isInteger(pid) || pid <= 0) return 'unknown';
  const st = procStat(pid);
  if (st === undefined) {
    try { process.kill(pid, 0); return 'unknown'; } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'unknown';
    }
  }
  if (st.state === 'Z' || st.state === 'X') return 'dead';
  if (startTime !== 0n && st.start !== startTime) return 'dead';
  return 'alive';
}
