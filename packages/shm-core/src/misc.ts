// Small process-wide utilities of shm-core.md §3.16: a full memory fence and random nonces.
import { getRandomValues } from 'node:crypto';
import { native } from './native.js';

let fence: (() => void) | undefined;

/** Sequentially consistent fence (`shk_fence`, `__atomic_thread_fence(__ATOMIC_SEQ_CST)`); needed only
 *  where a protocol orders plain accesses against atomics on weakly ordered CPUs (arm64). On x86-64 it is
 *  a no-op call. Loads the native library on first use. */
export function fullFence(): void {
  (fence ??= native().fence)();
}

const nonce = new BigUint64Array(1);

/** 64 random bits from the system CSPRNG (`crypto.getRandomValues`), never 0. */
export function randomNonce64(): bigint {
  do getRandomValues(nonce); while (nonce[0] === 0n);
  return nonce[0]!;
}
