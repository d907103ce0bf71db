import { writeSync } from 'node:fs';
import { TEST_POINTS_ENABLED, testPoint as corePoint } from '@shmkit/shm-core/internal';

/**
 * Test points of topic (spec §5.9). Each point is a shm-core `testPoint` (plans from testkit's
 * `spawnChild({ points })`, `SHMKIT_TEST_POINTS=1`), and is also driven by rmp's own environment, so one
 * child can arm either package's points while rmp still uses it:
 *   SHMKIT_RMP_TESTPOINT=<point>            e.g. topic.pump.beforeDrain
 *   SHMKIT_RMP_TESTPOINT_ACTION=kill|pause  pause prints `TESTPOINT <point>` then SIGSTOPs itself
 *   SHMKIT_RMP_TESTPOINT_SKIP=<n>           pass the point n times before acting
 * A point armed that way acts once (later passes run through). Disabled, a point costs two boolean checks.
 */
const POINT = process.env.SHMKIT_RMP_TESTPOINT ?? '';
const ACTION = process.env.SHMKIT_RMP_TESTPOINT_ACTION ?? 'kill';
let skip = Number(process.env.SHMKIT_RMP_TESTPOINT_SKIP ?? '0') || 0;
let enabled = POINT.startsWith('topic.');
/** False in production: hot paths skip the call (`if (pointsEnabled) testPoint(...)`). */
export const pointsEnabled: boolean = TEST_POINTS_ENABLED || enabled;

export function testPoint(name: string): void {
  corePoint(name);
  if (!enabled || name !== POINT) return;
  if (skip > 0) { skip--; return; }
  enabled = false;
  if (ACTION === 'pause') {
    writeSync(1, `TESTPOINT ${name}\n`);
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  process.kill(process.pid, 'SIGKILL');
}
