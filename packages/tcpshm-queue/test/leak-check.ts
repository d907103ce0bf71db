// The suite's leak check (testkit): shmkit.* objects plus reference-named rings ('<sender>_<receiver>.shm'),
// which carry no shmkit prefix.
import { leakCheck } from '@shmkit/testkit/leak-check';
export default leakCheck((f) => f.startsWith('shmkit.') || f.endsWith('.shm'));
