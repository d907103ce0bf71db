import { writeSync } from 'node:fs';

/**
 * Test points of topic (spec §5.9), driven by the same environment as rmp's so one child can arm
 * either package's points:
 *   SHMKIT_RMP_TESTPOINT=<point>            e.g. topic.pump.beforeDrain
 *   SHMKIT_RMP_TESTPOINT_ACTION=kill|pause  pause prints `TESTPOINT <point>` then SIGSTOPs itself
 *   SHMKIT_RMP_TESTPOINT_SKIP=<n>           pass the point n times before acting
 * A topic point acts once (later passes run through).
 */
const POINT = process.env.SHMKIT_RMP_TESTPOINT ?? '';
const ACTION = process.env.SHMKIT_RMP_TESTPOINT_ACTION ?? 'kill';
let skip = Number(process.env.SHMKIT_RMP_TESTPOINT_SKIP ?? '0') || 0;
let enabled = POINT.startsWith('topic.');

export function testPoint(name: string): void {
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
