import {
  BadRequestException,
  Injectable,
  InternalServerErrorException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { LDAP_STRATEGY_NAME } from '../ldap-auth.constants.js';
import {
  DatabaseUnavailableError,
  DirectoryError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  MalformedLoginRequestError,
} from '../errors/ldap-auth.errors.js';

/** The one answer to every failed login, whatever the reason (the reason is logged, never returned). */
export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password';

/**
 * `@UseGuards(LdapGuard)` on a login route: on success `req.user` is the AppUser. Turns the library's errors
 * into HTTP: 401 for any failed login, 400 for a malformed body, 503 when the directory or the database
 * cannot be used.
 */
@Injectable()
export class LdapGuard extends AuthGuard(LDAP_STRATEGY_NAME) {
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    if (error instanceof MalformedLoginRequestError) throw new BadRequestException(error.message);
    if (error instanceof InvalidCredentialsError) throw new UnauthorizedException(INVALID_CREDENTIALS_MESSAGE);
    if (error instanceof DirectoryUnavailableError || error instanceof DirectoryError) {
      throw new ServiceUnavailableException('The directory is unavailable, try again later');
    }
    if (error instanceof DatabaseUnavailableError) {
      throw new ServiceUnavailableException('The database is unavailable, try again later');
    }
    if (error) throw error instanceof Error ? error : new InternalServerErrorException();
    if (!user) throw new UnauthorizedException(INVALID_CREDENTIALS_MESSAGE);
    return user;
  }
}
