/** How relative paths in a config file become absolute ones. */
import * as path from 'node:path';

/**
 * A file path: absolute as written, else relative to `baseDir` (the node's folder, or the
 * java-sdk's working directory). Empty stays empty.
 */
export function resolveFilePath(p: string, baseDir: string): string {
  if (p === '' || path.isAbsolute(p)) return p;
  return path.resolve(baseDir, p);
}

/**
 * A library path as dlopen reads it (FISCO's hsm-crypto passes hsm_lib_path straight to dlopen):
 * absolute stays; with a `/` it is relative to the working folder
 * (`baseDir`); a bare
 * file name is searched by the dynamic loader, so it is kept as it is.
 */
export function resolveLibraryPath(p: string, baseDir: string): string {
  if (p === '' || path.isAbsolute(p) || !p.includes('/')) return p;
  return path.resolve(baseDir, p);
}
