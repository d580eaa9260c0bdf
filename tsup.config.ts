import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs', 'esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    // __dirname in the ESM build too: SignWorkers finds sign-worker.js beside it.
    shims: true,
    target: 'node20',
  },
  {
    // Loaded by SignWorkers as a file of its own, beside index.js and index.mjs (CommonJS serves both).
    entry: { 'sign-worker': 'src/signer/sign-worker.ts' },
    format: ['cjs'],
    sourcemap: true,
    target: 'node20',
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['cjs'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
