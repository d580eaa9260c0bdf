import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A worker thread's script as `npm run build` writes it: beside the running bundle (dist/), or,
 * when running from the sources (tests), in dist/ at the package root. `fromDir` is the caller's
 * `__dirname` (src/<folder> or dist).
 */
export function builtScript(fromDir: string, name: string): string {
  const beside = join(fromDir, name);
  return existsSync(beside) ? beside : join(fromDir, '..', '..', 'dist', name);
}
