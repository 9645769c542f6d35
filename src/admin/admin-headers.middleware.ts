import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { LDAP_ADMIN_HEADERS } from '@nest-ldap-auth/ldap-auth';

/** The admin page's security headers on every /admin response, errors and redirects included. */
@Injectable()
export class AdminHeadersMiddleware implements NestMiddleware {
  use(_req: Request, res: Response, next: NextFunction): void {
    for (const [name, value] of Object.entries(LDAP_ADMIN_HEADERS)) res.setHeader(name, value);
    next();
  }
}
