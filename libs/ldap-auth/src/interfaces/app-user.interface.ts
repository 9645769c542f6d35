/** A user as the API returns it (`/auth/login`, `/auth/me`). */
export interface AppUser {
  id: number;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** Every group the user is in; `ldapDn` (normalised) is null for local groups. */
  groups: Array<{ name: string; ldapDn: string | null }>;
}
