import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The version in gmt0018's package.json, read when asked: the nearest package.json named gmt0018
 * above this file (dist/cli.js sits in dist/, beside ../package.json, in the repository and in an
 * installed package alike; src/cli/version.ts two folders deeper when run from source).
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const manifest = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (manifest.name === 'gmt0018' && typeof manifest.version === 'string') return manifest.version;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of gmt0018 above ${from}`);
  }
}
