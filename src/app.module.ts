import { createSecretKey } from 'node:crypto';
import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseOptionsFromUrl, LdapAdminModule } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from './config/app.config.js';
import { AuthController } from './auth/auth.controller.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { LoginThrottlerGuard } from './auth/login-throttler.guard.js';
import { LoginThrottleService } from './auth/login-throttle.service.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { PrometheusMetrics } from './metrics/prometheus-metrics.js';
import { demoLdapAuthModule } from './dev-directory/demo-ldap-auth.module.js';
import { LoginBodyErrorFilter, LoginBodyMiddleware } from './config/login-body.js';
import { AdminAuthModule } from './admin/admin-auth.module.js';
import { AdminSessions } from './admin/admin-sessions.js';
import { AdminGuard, AdminLoginRedirect } from './admin/admin.guard.js';
import { AdminLoginController } from './admin/admin-login.controller.js';
import { AdminHeadersMiddleware } from './admin/admin-headers.middleware.js';

/** One LdapAuthModule, imported by the app and by the admin page (the same object: the same instance). */
const ldapAuth = demoLdapAuthModule();

/**
 * The demo: uses the library exactly as any app would. Configuration comes from the environment
 * (see docs/configuration.md); an unset LDAP_AUTH_URL means the embedded development directory.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [] }),
    ConfigModule.forFeature(appConfig),
    TypeOrmModule.forRootAsync({
      imports: [ConfigModule.forFeature(appConfig)],
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => databaseOptionsFromUrl(app.databaseUrl),
    }),
    ldapAuth,
    AdminAuthModule,
    // /admin/ldap for members of LDAP_ADMIN_GROUP (404 when unset), behind the demo's own session guard.
    LdapAdminModule.register({
      path: 'admin/ldap',
      title: 'LDAP admin',
      guards: [AdminGuard],
      csrf: AdminSessions,
      signOut: '/admin/logout',
      imports: [ldapAuth, AdminAuthModule],
    }),
    // GET /health; the controller logs failures itself (rate-limited), so terminus' own logger is off.
    TerminusModule.forRoot({ logger: false }),
    JwtModule.registerAsync({
      imports: [ConfigModule.forFeature(appConfig)],
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => ({
        // A KeyObject: given a string, jsonwebtoken first tries it as a PEM key on every sign and verify (and
        // throws inside) before taking it as a secret; that was a tenth of the app's CPU per login.
        secret: createSecretKey(Buffer.from(app.jwtSecret)),
        signOptions: { expiresIn: app.jwtExpiresIn as `${number}h` },
      }),
    }),
  ],
  controllers: [AuthController, HealthController, MetricsController, AdminLoginController],
  providers: [
    PrometheusMetrics,
    JwtAuthGuard,
    LoginThrottleService,
    LoginThrottlerGuard,
    { provide: APP_FILTER, useClass: LoginBodyErrorFilter },
    { provide: APP_FILTER, useClass: AdminLoginRedirect },
  ],
})
export class AppModule implements NestModule {
  /** POST /auth/login: JSON objects of at most 16 KB (415, 413, 400 otherwise), before the throttle and LDAP. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(LoginBodyMiddleware).forRoutes({ path: 'auth/login', method: RequestMethod.POST });
    consumer.apply(AdminHeadersMiddleware).forRoutes({ path: 'admin/*path', method: RequestMethod.ALL });
  }
}
