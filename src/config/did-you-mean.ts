import { closest } from '../did-you-mean';

/** Older spellings that are too far from their replacement for the distance to find it. */
const RENAMED: ReadonlyMap<string, string> = new Map([['libpath', 'hsm_lib_path']]);

/**
 * Keys are compared in a folded form (lower case, without `_` and `-`), so `enableHSM`, `enable-hsm`
 * and `enable_hsm` are one key, and a camelCase key in an INI file still finds its snake_case spelling.
 */
function fold(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** The known key a mistyped one most likely meant, or undefined when none is close. */
export function closestKnownKey(key: string, known: readonly string[]): string | undefined {
  const renamed = RENAMED.get(fold(key));
  if (renamed !== undefined && known.includes(renamed)) return renamed;
  return closest(key, known, fold);
}
