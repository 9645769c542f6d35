import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LdapAdminCsrf } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';

/** The admin session's cookie, and the login form's (its CSRF token before there is a session). */
export const ADMIN_SESSION_COOKIE = 'ldap_admin';
export const ADMIN_LOGIN_COOKIE = 'ldap_admin_login';
/** How long an admin session lasts; membership of LDAP_ADMIN_GROUP is checked again on every request anyway. */
export const ADMIN_SESSION_SECONDS = 60 * 60;

export interface AdminSession {
  /** The app user's id. */
  userId: number;
  /** Random, per login: what the CSRF token is derived from. */
  sid: string;
  /** Unix time, seconds. */
  expires: number;
}

type CookieRequest = { headers: { cookie?: string } };
const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Cookie attributes: never readable by scripts, never sent by another site, only on the admin paths. */
const cookie = (name: string, value: string, maxAge: number, secure: boolean) =>
  `${name}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

/**
 * The admin page's sessions: a cookie holding `payload.HMAC(payload)`, signed with a key derived from
 * JWT_SECRET (an HMAC of it with a purpose label, so a token signature is never a cookie signature); CSRF
 * tokens are HMACs of the session's random id. No store: nothing to clean up, and a restart with a random
 * JWT_SECRET ends every session.
 */
@Injectable()
export class AdminSessions implements LdapAdminCsrf {
  private readonly key: Buffer;
  private readonly secure: boolean;

  constructor(@Inject(appConfig.KEY) config: ConfigType<typeof appConfig>) {
    this.key = createHmac('sha256', config.jwtSecret).update('ldap-admin-session').digest();
    this.secure = config.production;
  }

  /** The Set-Cookie value of a new session for this user. */
  start(userId: number): string {
    const session: AdminSession = {
      userId,
      sid: b64(randomBytes(18)),
      expires: Math.floor(Date.now() / 1000) + ADMIN_SESSION_SECONDS,
    };
    const payload = b64(JSON.stringify(session));
    return cookie(ADMIN_SESSION_COOKIE, `${payload}.${this.sign(payload)}`, ADMIN_SESSION_SECONDS, this.secure);
  }

  /** The Set-Cookie value that ends the session. */
  end(): string {
    return cookie(ADMIN_SESSION_COOKIE, '', 0, this.secure);
  }

  /** The request's session when its cookie is signed by us and not expired. */
  read(request: CookieRequest): AdminSession | undefined {
    const [payload, signature] = (cookieValue(request, ADMIN_SESSION_COOKIE) ?? '').split('.');
    if (!payload || !signature || !this.verify(payload, signature)) return undefined;
    try {
      const session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AdminSession;
      return session.expires > Date.now() / 1000 ? session : undefined;
    } catch {
      return undefined;
    }
  }

  /** LdapAdminCsrf: the HMAC of the session's id; none without a session. */
  tokenFor(request: unknown): string | undefined {
    const session = this.read(request as CookieRequest);
    return session ? this.sign(`csrf:${session.sid}`) : undefined;
  }

  /** The login form's nonce cookie and its CSRF token (no session yet: a random nonce stands in for it). */
  loginNonce(): { setCookie: string; token: string } {
    const nonce = b64(randomBytes(18));
    return { setCookie: cookie(ADMIN_LOGIN_COOKIE, nonce, 600, this.secure), token: this.sign(`login:${nonce}`) };
  }

  /** Whether the login form's token matches its nonce cookie. */
  loginTokenMatches(request: CookieRequest, token: unknown): boolean {
    const nonce = cookieValue(request, ADMIN_LOGIN_COOKIE);
    return !!nonce && typeof token === 'string' && this.verify(`login:${nonce}`, token);
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  private verify(text: string, signature: string): boolean {
    const [a, b] = [Buffer.from(this.sign(text)), Buffer.from(signature)];
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** One cookie of the request's Cookie header. */
function cookieValue(request: CookieRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
