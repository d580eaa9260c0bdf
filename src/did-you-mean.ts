/**
 * What a mistyped name most likely meant, for "did you mean …?" in messages about unknown config
 * keys, commands and options.
 *
 * The distance is Damerau-Levenshtein (optimal string alignment: insert, delete, replace, swap two
 * neighbours, so `sing` is one edit from `sign`), between the names as `normalize` gives them. Up
 * to 2 edits count as close for names of 6 or more characters, up to 1 for shorter ones, where 2
 * edits would match almost anything.
 */

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, or undefined when none is close enough. On a tie the candidate
 * listed first wins, so callers list the names users write most often first.
 */
export function closest(
  word: string,
  candidates: readonly string[],
  normalize: (name: string) => string = (name) => name.toLowerCase(),
): string | undefined {
  const typed = normalize(word);
  const limit = typed.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(typed, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
