import { writeSync } from 'node:fs';
import { TEST_POINTS_ENABLED, testPoint as corePoint } from '@shmkit/shm-core/internal';

/**
 * Test points (spec §5.10) through shm-core's `testPoint` (enabled by SHMKIT_TEST_POINTS=1, driven by
 * testkit's `spawnChild({ points })`); a no-op costing one boolean check otherwise.
 *
 * Bridge, kept only while `@shmkit/topic`'s tests still arm rmp points through the old environment
 * (topic's own test points read the same variables): SHMKIT_RMP_TESTPOINT=<point>,
 * SHMKIT_RMP_TESTPOINT_ACTION=kill|pause (pause prints `TESTPOINT <point>` and SIGSTOPs itself),
 * SHMKIT_RMP_TESTPOINT_SKIP=<n>. Remove it when topic moves to spawnChild points.
 */
const LEGACY_POINT = process.env.SHMKIT_RMP_TESTPOINT ?? '';
const LEGACY_ACTION = process.env.SHMKIT_RMP_TESTPOINT_ACTION ?? 'kill';
let legacySkip = Number(process.env.SHMKIT_RMP_TESTPOINT_SKIP ?? '0') || 0;
let legacyFired = false;

/** True when test points may act in this process (the writer then splits copies in two halves). */
export const testPointsEnabled: boolean = TEST_POINTS_ENABLED || LEGACY_POINT !== '';

export function testPoint(name: string): void {
  if (!testPointsEnabled) return;
  corePoint(name);
  if (legacyFired || name !== LEGACY_POINT) return;
  if (legacySkip > 0) { legacySkip--; return; }
  legacyFired = true; // acts once
  if (LEGACY_ACTION === 'pause') {
    writeSync(1, `TESTPOINT ${name}\n`);
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  process.kill(process.pid, 'SIGKILL');
}
