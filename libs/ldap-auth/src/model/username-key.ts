/**
 * What makes two usernames "the same": the one rule for logins, the full sync and the migration that fills
 * `users.username_key`. Computed here, in JavaScript, so that every database agrees: SQLite's LOWER() folds
 * ASCII only, and PostgreSQL's depends on the database's locale.
 */

/** `users.username_key` holds this many characters; a name whose key is longer is refused (login) or not written (sync). */
export const USERNAME_KEY_MAX_LENGTH = 255;

/**
 * A username's key: compatibility forms unified (NFKC: full-width letters, ligatures), surrounding spaces
 * dropped, case folded. Upper then lower case, so that letters with two lower-case forms (σ / ς) or a
 * two-letter upper case (ß / SS) get one key, as the directories' case-insensitive matching gives them.
 */
export function usernameKey(name: string): string {
  // ASCII (most names; the sync folds 100,000s) is its own NFKC form, and upper-then-lower is lower there.
  if (isAscii(name)) return name.trim().toLowerCase();
  return name.normalize('NFKC').trim().toUpperCase().toLowerCase();
}

function isAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The name stored for an entry whose username attribute may hold several values (`values`, in the
 * directory's order), given the name its row holds now (undefined for a new user). Logins and the sync
 * both decide with this, so neither undoes the other: the stored name when it is one of the values; else
 * the value that is the same name (a change of case in the directory); else the first value.
 */
export function storedUsername(values: readonly string[], current: string | undefined): string | undefined {
  if (values.length <= 1 || current === undefined) return values[0];
  if (values.includes(current)) return current;
  const key = usernameKey(current);
  return values.find((value) => usernameKey(value) === key) ?? values[0];
}

/** Length in code points, as the column counts it. */
export function usernameKeyFits(key: string): boolean {
  if (key.length <= USERNAME_KEY_MAX_LENGTH) return true;
  let length = 0;
  for (const _ of key) if (++length > USERNAME_KEY_MAX_LENGTH) return false;
  return true;
}
