// The suite's leak check (testkit): shmkit.* objects of this run.
import { leakCheck } from '@shmkit/testkit/leak-check';
export default leakCheck();
