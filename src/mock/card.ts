// The mock card as a user meets it: where the packaged build is, and how to tell it is the one loaded.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ownPackage } from '../own-package';
import type { SdfLibrary } from '../sdf/library';

/** The environment variable naming the folder the mock card reads its keys from. */
export const MOCK_KEYSTORE_VARIABLE = 'GMT0018_MOCK_KEYSTORE';

/** A function only the mock card defines. */
const MOCK_ONLY_SYMBOL = 'MOCK_SetKeystore';

/**
 * The mock card's library as the package ships it (linux-x64, built against glibc and OpenSSL 3's
 * libcrypto.so.3): the path to put in `hsm_lib_path`. Elsewhere, build it from the repository's
 * native-bindings/mock-sdf (`npm run build:mock`, which needs a C compiler and OpenSSL 3 headers).
 */
export function mockCardLibrary(): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the packaged mock card is built for linux-x64, not ${process.platform}-${process.arch}: ` +
        'build it from the repository with npm run build:mock',
    );
  }
  const path = join(ownPackage().root, 'native-bindings', 'mock-sdf', 'build', 'libgmt0018.so');
  if (!existsSync(path)) throw new Error(`the mock card is not built: ${path} is missing (npm run build:mock)`);
  return path;
}

/** The mock card is loaded and has no keystore to read keys from: every key would be missing. */
export function mockCardWithoutKeystore(library: SdfLibrary): boolean {
  return library.defines(MOCK_ONLY_SYMBOL) && !process.env[MOCK_KEYSTORE_VARIABLE];
}
