import { readdirSync } from 'node:fs';
// Fails the suite if any /dev/shm/shmkit.* object created by the suite (names carry "t-") is left behind.
export default function setup() {
  const before = new Set(readdirSync('/dev/shm'));
  return () => {
    const left = readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit.') && f.includes('.t-') && !before.has(f));
    if (left.length) throw new Error(`shm objects left behind: ${left.join(', ')}`);
  };
}
