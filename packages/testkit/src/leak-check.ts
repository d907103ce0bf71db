import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';

/**
 * A vitest globalSetup that fails the suite if any /dev/shm object carrying this run's tag is left
 * behind; the tag (SHMKIT_TEST_RUNTAG, used by `uniqueName`) keeps concurrent suites on one machine
 * from blaming each other. By default only `shmkit.*` objects are checked; `matches` widens that
 * (e.g. reference-named rings without the shmkit prefix).
 */
export function leakCheck(matches: (fileName: string) => boolean = (f) => f.startsWith('shmkit.')): () => () => void {
  return () => {
    const tag = `tk${randomBytes(3).toString('hex')}`;
    process.env.SHMKIT_TEST_RUNTAG = tag;
    return () => {
      const left = readdirSync('/dev/shm').filter((f) => matches(f) && f.includes(tag));
      for (const f of left) rmSync(`/dev/shm/${f}`, { force: true });
      if (left.length) throw new Error(`shm objects left behind: ${left.join(', ')}`);
    };
  };
}
