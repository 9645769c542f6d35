/**
 * Turns what a user typed into the names the directory understands. An abstract class so it is its own DI
 * token: an app passes its own class as `usernameFormatterClass` to `LdapAuthModule.forRoot`.
 *
 * Throw `InvalidCredentialsError` from either method to refuse a name before anything is sent.
 */
export abstract class UsernameFormatter {
  /**
   * The bare login name: the value of the username attribute (`uid`, `sAMAccountName`) that finds the
   * user's entry. Strips a domain the user typed (`EXAMPLE\alice`, `alice@example.com`) where that applies.
   */
  abstract toLookupName(input: string): string;

  /** What to bind with for a bare login name: a DN, `DOMAIN\name` or `name@domain`. */
  abstract toBindName(lookupName: string): string;
}
