import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LDAP_ADMIN_HEADERS } from '@nest-ldap-auth/ldap-auth';

/** The admin page's security headers on every /admin response, errors and redirects included (Node's objects on either adapter). */
@Injectable()
export class AdminHeadersMiddleware implements NestMiddleware {
  use(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
    for (const [name, value] of Object.entries(LDAP_ADMIN_HEADERS)) res.setHeader(name, value);
    next();
  }
}
