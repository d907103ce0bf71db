// §8 test 36: native loading. Each case runs in a fresh process (the load result is cached per process).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture } from '@shmkit/testkit';

const fixture = fileURLToPath(new URL('./fixtures/native-load.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'shmkit-native-'));
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(env: Record<string, string>) {
  const c = spawnFixture(fixture, [], env);
  const line = await c.waitLine((l) => l.startsWith('load '));
  expect(await c.exited).toBe(0);
  return JSON.parse(line.slice(5)) as { before: boolean; after: boolean; code: string | null; same: boolean; listed: boolean };
}
const hasCc = () => { try { execFileSync('cc', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } };

describe('native loading (§3.2)', () => {
  it('importing shm-core loads nothing; the first FFI call maps libshmkit', async () => {
    expect(await run({})).toEqual({ before: false, after: true, code: null, same: true, listed: true });
  });

  it('SHMKIT_NATIVE_LIB to a missing file → ERR_NATIVE_NOT_FOUND, rethrown as the same error; listSegments still works', async () => {
    expect(await run({ SHMKIT_NATIVE_LIB: join(dir, 'missing.so') })).toEqual({ before: false, after: false, code: 'ERR_NATIVE_NOT_FOUND', same: true, listed: true });
  });

  it('a library of ABI 999 → ERR_NATIVE_ABI_MISMATCH', async (ctx) => {
    if (!hasCc()) ctx.skip();
    const src = join(dir, 'abi999.c'), lib = join(dir, 'libabi999.so');
    writeFileSync(src, '#include <stdint.h>\nint32_t shk_abi_version(void) { return 999; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src], { stdio: 'ignore' });
    expect(await run({ SHMKIT_NATIVE_LIB: lib })).toEqual({ before: false, after: false, code: 'ERR_NATIVE_ABI_MISMATCH', same: true, listed: true });
  });
});
