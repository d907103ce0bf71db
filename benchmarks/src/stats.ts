// Nearest-rank statistics (testkit-and-benchmarks.md §5.6 step 5).
export interface RunStats { n: number; p50Ns: number; p99Ns: number; meanNs: number; minNs: number; maxNs: number }

export function runStats(samples: Float64Array | number[]): RunStats {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  if (n === 0) throw new RangeError('no samples');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, p50Ns: s[Math.floor(0.5 * (n - 1))]!, p99Ns: s[Math.ceil(0.99 * n) - 1]!, meanNs: sum / n, minNs: s[0]!, maxNs: s[n - 1]! };
}
/** Median of a list (mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError('no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
