import { Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { HttpRequest } from '../http/http-platform.js';
import { LdapGuard, type AppUser } from '@nest-ldap-auth/ldap-auth';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { LoginThrottlerGuard } from './login-throttler.guard.js';

@Controller('auth')
export class AuthController {
  constructor(private readonly jwt: JwtService) {}

  /** LdapGuard does the login (after the throttle); here the user it produced gets a token. */
  @Post('login')
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard, LdapGuard)
  async login(@Req() req: HttpRequest): Promise<{ accessToken: string; user: AppUser }> {
    const user = req.user as AppUser;
    const accessToken = await this.jwt.signAsync({ sub: String(user.id), username: user.username });
    return { accessToken, user };
  }

  @Get('me')
  @UseGuards(JwtAuthGuard)
  me(@Req() req: HttpRequest): AppUser {
    return req.user as AppUser;
  }
}
