/**
 * The known key a mistyped one most likely meant.
 *
 * Keys are compared in a folded form (lower case, without `_` and `-`), so `enableHSM`, `enable-hsm`
 * and `enable_hsm` are one key to it, and a camelCase key in an INI file still finds its snake_case
 * spelling. Between folded forms the distance is Damerau-Levenshtein (optimal string alignment:
 * insert, delete, replace, swap two neighbours); up to 2 counts as close for keys of 6 or more
 * characters, up to 1 for shorter ones, where 2 edits would match almost anything.
 */

/** Older spellings that are too far from their replacement for the distance to find it. */
const RENAMED: ReadonlyMap<string, string> = new Map([['libpath', 'hsm_lib_path']]);

function fold(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]![j]!;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i]![j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The known key closest to `key`, or undefined when none is close enough. On a tie the key listed
 * first wins, so callers list the keys users set most often first.
 */
export function closestKnownKey(key: string, known: readonly string[]): string | undefined {
  const folded = fold(key);
  const renamed = RENAMED.get(folded);
  if (renamed !== undefined && known.includes(renamed)) return renamed;
  const limit = folded.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(folded, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
