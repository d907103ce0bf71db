// §3.2: importing shm-core has no side effects; loading the native library installs the SIGBUS guard
// (before any Segment exists), unless SHMKIT_NO_SIGBUS_GUARD=1.
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture } from '@shmkit/testkit';

const fixture = fileURLToPath(new URL('./fixtures/guard-load.ts', import.meta.url));
afterEach(() => killAll());

describe('SIGBUS guard installation', () => {
  it.each([
    { env: {}, after: '1' },
    { env: { SHMKIT_NO_SIGBUS_GUARD: '1' }, after: '0' },
  ])('SIGBUS is caught only after the library loads (first FFI call, no Segment): env $env', async ({ env, after }) => {
    const c = spawnFixture(fixture, [], env);
    const line = await c.waitLine((l) => l.startsWith('sigbus '));
    expect(line).toBe(`sigbus 0 ${after}`);
    expect(await c.exited).toBe(0);
  });
});
