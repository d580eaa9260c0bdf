import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OwnPackage {
  /** The folder holding gmt0018's package.json. */
  root: string;
  version: string;
}

/**
 * gmt0018's own package.json, read when asked: the nearest one named gmt0018 above `from`. The
 * build in dist/ sits beside ../package.json, in the repository and in an installed package
 * alike; the sources (src/…) are one or two folders deeper.
 */
export function ownPackage(from: string = __dirname): OwnPackage {
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
      if (manifest.name === 'gmt0018' && typeof manifest.version === 'string') {
        return { root: dir, version: manifest.version };
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of gmt0018 above ${from}`);
  }
}
