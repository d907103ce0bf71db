import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
// Fails the suite if any /dev/shm/shmkit.* object (or reference-named ring) carrying this run's tag is left behind; the tag keeps
// concurrent suites on one machine from blaming each other.
export default function setup() {
  const tag = `tk${randomBytes(3).toString('hex')}`;
  process.env.SHMKIT_TEST_RUNTAG = tag;
  return () => {
    // shmkit.* objects plus reference-named rings ('<sender>_<receiver>.shm'), which carry no shmkit prefix.
    const left = readdirSync('/dev/shm').filter((f) => (f.startsWith('shmkit.') || f.endsWith('.shm')) && f.includes(tag));
    for (const f of left) rmSync(`/dev/shm/${f}`, { force: true });
    if (left.length) throw new Error(`shm objects left behind: ${left.join(', ')}`);
  };
}
