/**
 * Misspelt variables: `LDAP_AUTH_SERCH_BASE` is silently ignored (the default search base is used), so every
 * LDAP_* variable nobody reads is named at start-up, with the known name it is closest to.
 */

/** Farthest a known name may be from a misspelling (edits), and at most a third of the name's length. */
const MAX_EDITS = 3;

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring characters
 * (Damerau-Levenshtein, optimal string alignment): `SERCH` → `SEARCH` is 1, `SAERCH` → `SEARCH` is 1.
 */
export function editDistance(a: string, b: string): number {
  // d[i][j]: the distance between the first i characters of a and the first j of b.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name closest to `name` (case ignored), or undefined when none is near enough to be a misspelling
 * of it. On a tie the first in `known` wins.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = name.toUpperCase();
  const limit = Math.min(MAX_EDITS, Math.floor(wanted.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toUpperCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * One warning per variable of `env` that starts with `LDAP_` (any case) and is not in `known`: it may belong
 * to other software, so this never fails, but a misspelt name is silently ignored otherwise.
 */
export function unknownVariableWarnings(env: Record<string, string | undefined>, known: readonly string[]): string[] {
  const knownSet = new Set(known);
  return Object.keys(env)
    .filter((name) => /^LDAP_/i.test(name) && !knownSet.has(name) && env[name] !== undefined)
    .sort()
    .map((name) => {
      const closest = closestName(name, known);
      return closest
        ? `${name} is not a variable this library reads; did you mean ${closest}?`
        : `${name} is not a variable this library reads (ignored)`;
    });
}
