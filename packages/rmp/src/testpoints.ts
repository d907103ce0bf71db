import { writeSync } from 'node:fs';

/**
 * Test points (spec §5.10), isolated here until shm-core's `testPoint` lands.
 * Disabled unless the environment names a point:
 *   SHMKIT_RMP_TESTPOINT=<point>            e.g. rmp.write.midCopy
 *   SHMKIT_RMP_TESTPOINT_ACTION=kill|pause  kill: SIGKILL itself; pause: print
 *                                           `TESTPOINT <point>` on stdout, then SIGSTOP itself
 *                                           (the parent kills it or sends SIGCONT)
 *   SHMKIT_RMP_TESTPOINT_SKIP=<n>           pass the point n times before acting (default 0); acts once
 */
const POINT = process.env.SHMKIT_RMP_TESTPOINT ?? '';
const ACTION = process.env.SHMKIT_RMP_TESTPOINT_ACTION ?? 'kill';
let skip = Number(process.env.SHMKIT_RMP_TESTPOINT_SKIP ?? '0') || 0;

/** True when some test point is armed in this process (used to split copies in two halves). */
export const testPointsEnabled: boolean = POINT !== '';

let fired = false;

export function testPoint(name: string): void {
  if (!testPointsEnabled || fired || name !== POINT) return;
  if (skip > 0) { skip--; return; }
  fired = true; // acts once
  if (ACTION === 'pause') {
    writeSync(1, `TESTPOINT ${name}\n`);
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  process.kill(process.pid, 'SIGKILL');
}
