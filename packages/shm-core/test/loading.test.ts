import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture } from '@shmkit/testkit';
import * as src from '../src/index.js';
import { errnoName, errnoToCode, type ShmkitErrorCode } from '../src/index.js';

afterEach(() => killAll());
const fixture = fileURLToPath(new URL('./fixtures/load-peer.ts', import.meta.url));
async function run(mode: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const c = spawnFixture(fixture, [mode], env);
  const line = await c.waitLine((l) => l.startsWith('{'));
  expect(await c.exited).toBe(0);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('errno mapping (§3.3)', () => {
  it('maps every listed errno to its code, keeps the name, and anything else to ERR_SYSCALL', () => {
    const table: Array<[number, string, ShmkitErrorCode]> = [
      [17, 'EEXIST', 'ERR_EXISTS'], [2, 'ENOENT', 'ERR_NOT_FOUND'], [13, 'EACCES', 'ERR_PERMISSION'], [1, 'EPERM', 'ERR_PERMISSION'],
      [28, 'ENOSPC', 'ERR_NO_SPACE'], [12, 'ENOMEM', 'ERR_NO_SPACE'], [24, 'EMFILE', 'ERR_LIMIT'], [23, 'ENFILE', 'ERR_LIMIT'],
      [22, 'EINVAL', 'ERR_INVALID_ARGUMENT'], [36, 'ENAMETOOLONG', 'ERR_INVALID_NAME'], [110, 'ETIMEDOUT', 'ERR_TIMEOUT'],
      [11, 'EAGAIN', 'ERR_WOULD_BLOCK'], [16, 'EBUSY', 'ERR_BUSY'], [32, 'EPIPE', 'ERR_CONNECTION_CLOSED'],
      [104, 'ECONNRESET', 'ERR_CONNECTION_CLOSED'], [98, 'EADDRINUSE', 'ERR_ADDRESS_IN_USE'],
      [111, 'ECONNREFUSED', 'ERR_SERVER_NOT_RUNNING'], [131, 'ENOTRECOVERABLE', 'ERR_MUTEX_NOT_RECOVERABLE'],
      [35, 'EDEADLK', 'ERR_MUTEX_DEADLOCK'],
    ];
    for (const [errno, name, code] of table) {
      expect(errnoToCode(errno), name).toBe(code);
      expect(errnoName(errno)).toBe(name);
      const e = new src.ShmkitError(errnoToCode(errno), `x: y failed (${name})`, { errno, syscall: 'y' });
      expect(e.toJSON()).toMatchObject({ code, errno, errnoName: name, syscall: 'y' });
    }
    for (const other of [5 /* EIO */, 9 /* EBADF */, 38 /* ENOSYS */, 9999]) expect(errnoToCode(other)).toBe('ERR_SYSCALL');
  });

  it('isShmkitError recognises errors of other copies of the built module (ESM and CJS builds, and the source)', async () => {
    const esmPath = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const cjsPath = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
    expect(existsSync(esmPath) && existsSync(cjsPath), 'run pnpm build first').toBe(true);
    const esm = (await import(/* @vite-ignore */ esmPath)) as typeof src;
    const cjs = createRequire(import.meta.url)(cjsPath) as typeof src;
    const copies = [src, esm, cjs];
    expect(new Set(copies.map((m) => m.ShmkitError)).size).toBe(3); // really three classes
    for (const from of copies) {
      const e = new from.ShmkitError('ERR_LOCK_HELD', 'held', { details: { pid: 1 } });
      for (const to of copies) {
        expect(to.isShmkitError(e)).toBe(true);
        expect(to.isShmkitError(e, 'ERR_LOCK_HELD')).toBe(true);
        expect(to.isShmkitError(e, 'ERR_EXISTS')).toBe(false);
        if (to !== from) expect(e instanceof to.ShmkitError).toBe(false);
      }
    }
    for (const to of copies) {
      expect(to.isShmkitError(Object.assign(new Error('x'), { code: 'ERR_EXISTS' }))).toBe(false);
      expect(to.isShmkitError(null)).toBe(false);
    }
  });
});

describe('native loading (§3.2, §8 row 36)', () => {
  it('importing shm-core loads nothing; the library is mapped at the first call that needs it', async () => {
    expect(await run('lazy')).toEqual({ afterImport: false, afterPureCalls: false, afterFence: true });
  });

  it('SHMKIT_NATIVE_LIB naming a missing file: ERR_NATIVE_NOT_FOUND naming the path, on every call, nothing loaded', async () => {
    const r = await run('fail', { SHMKIT_NATIVE_LIB: '/nonexistent/libshmkit.so' }) as { tries: Array<{ code: string; message: string }>; mapped: boolean };
    expect(r.tries).toHaveLength(2);
    for (const t of r.tries) {
      expect(t.code).toBe('ERR_NATIVE_NOT_FOUND');
      expect(t.message).toContain('/nonexistent/libshmkit.so');
    }
    expect(r.mapped).toBe(false);
  });
});
