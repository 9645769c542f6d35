import { timingSafeEqual } from 'node:crypto';

/**
 * The app's CSRF tokens for the admin page: the app knows its sessions, the page does not. Every form of the
 * page carries `tokenFor(request)` in a hidden `_csrf` field, and every POST whose `_csrf` is not the token of
 * its own request's session is refused (403) before anything runs. Give a class (an HMAC of the session id,
 * say) as LdapAdminModule's `csrf` option.
 */
export abstract class LdapAdminCsrf {
  /** The token of this request's session; undefined without one (every POST is then refused). */
  abstract tokenFor(request: unknown): string | undefined;
}

/** Whether `sent` (the form's `_csrf`) is `expected`, in constant time. */
export function csrfMatches(expected: string | undefined, sent: unknown): boolean {
  if (!expected || typeof sent !== 'string' || !sent) return false;
  const [a, b] = [Buffer.from(expected), Buffer.from(sent)];
  return a.length === b.length && timingSafeEqual(a, b);
}
