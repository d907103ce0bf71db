// The process-local SIGBUS guard table (§4.5, §5.10): installed on first use, viewed once.
import { native } from './native.js';

let table: Uint32Array | null | undefined;

/** `poisoned[1024]` of the shim (one Atomics.load per check), or null when the guard is off
 *  (`SHMKIT_NO_SIGBUS_GUARD=1`, or the handler could not be installed). */
export function guardTable(): Uint32Array | null {
  if (table !== undefined) return table;
  const n = native();
  if (process.env['SHMKIT_NO_SIGBUS_GUARD'] === '1') return (table = null);
  table = n.init(0) < 0 ? null : new Uint32Array(n.view(n.guardTable(), 4096));
  return table;
}
