import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // sign-worker: loaded by SignWorkers as a file of its own, from beside index.js or index.mjs.
    entry: { index: 'src/index.ts', 'sign-worker': 'src/signer/sign-worker.ts' },
    format: ['cjs', 'esm'],
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: true,
    // __dirname in the ESM build too: SignWorkers finds sign-worker.js beside it.
    shims: true,
    splitting: false,
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
