import { defineConfig } from 'tsup';

// Every file of src/scenarios and src/roles is its own entry, so a package contributes benchmarks by
// dropping `src/scenarios/<token>[-<topic>].ts` and `src/roles/<token>-*.ts` here; the runner discovers them.
export default defineConfig({
  entry: ['src/run.ts', 'src/role-main.ts', 'src/check.ts', 'src/cp-echo.ts', 'src/scenarios/*.ts', 'src/roles/*.ts'],
  format: ['esm'], target: 'node20', platform: 'node', splitting: true, clean: true, sourcemap: false, dts: false,
});
