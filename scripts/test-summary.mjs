// Reads a test log on stdin and prints one line "N passed, N failed[, N skipped]" summed over every
// vitest run and the native self-test; exits 1 if anything failed or no test ran.
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { text += d; });
process.stdin.on('end', () => {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  let passed = 0, failed = 0, skipped = 0;
  for (const line of clean.split('\n')) {
    const vitest = /^\s*(?:\S+:test:\s*)?\s*Tests\s+(.*)$/.exec(line);
    if (vitest) {
      passed += Number(/(\d+) passed/.exec(vitest[1])?.[1] ?? 0);
      failed += Number(/(\d+) failed/.exec(vitest[1])?.[1] ?? 0);
      skipped += Number(/(\d+) skipped/.exec(vitest[1])?.[1] ?? 0);
      continue;
    }
    const c = /(?:^|\s)(\d+) passed, (\d+) failed$/.exec(line.trim());
    if (c) { passed += Number(c[1]); failed += Number(c[2]); }
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed || passed === 0 ? 1 : 0);
});
