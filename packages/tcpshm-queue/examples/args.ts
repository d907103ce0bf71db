/** Tiny `--key value` / `--flag` parser for the examples. */
export function args(): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  const a = process.argv.slice(2).filter((x) => x !== '--');
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!;
    if (!k.startsWith('--')) continue;
    const v = a[i + 1];
    if (v === undefined || v.startsWith('--')) out[k.slice(2)] = true; else { out[k.slice(2)] = v; i++; }
  }
  return out;
}
