// Timing of the single-process micro-benchmarks: warm up, then ns per operation for each of 20 batches.
export const BATCHES = 20;
/** `f(k)` performs k operations; `step` rounds the batch length down to a multiple (writeMany batches). */
export function timeBatches(f: (k: number) => void, n: number, warmup: number, step = 1): Float64Array {
  f(warmup);
  const per = Math.max(step, Math.floor(n / BATCHES / step) * step);
  const out = new Float64Array(BATCHES);
  for (let b = 0; b < BATCHES; b++) {
    const t = process.hrtime.bigint();
    f(per);
    out[b] = Number(process.hrtime.bigint() - t) / per;
  }
  return out;
}
