// The process-local SIGBUS guard table (§4.5, §5.10): installed when the native library loads (§3.2).
import { sigbusGuardTable } from './native.js';

/** `poisoned[1024]` of the shim (one Atomics.load per check), or null when the guard is off
 *  (`SHMKIT_NO_SIGBUS_GUARD=1`, or the handler could not be installed). */
export function guardTable(): Uint32Array | null {
  return sigbusGuardTable();
}
