import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { appConfig } from '../config/app.config.js';
import { AdminSessions } from './admin-sessions.js';

const config = ConfigModule.forFeature(appConfig);

/** The admin page's sessions, for the login controller, the guard and the page's CSRF tokens. */
@Module({
  imports: [config],
  providers: [AdminSessions],
  exports: [AdminSessions, config],
})
export class AdminAuthModule {}
