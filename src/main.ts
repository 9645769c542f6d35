import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { appConfigFromEnvironment } from './config/app.config.js';

async function bootstrap(): Promise<void> {
  const { port, host } = appConfigFromEnvironment(process.env);
  // abortOnError: false so a bad configuration reaches the catch below with its message, not a stack dump.
  const app = await NestFactory.create(AppModule, { abortOnError: false });
  app.enableShutdownHooks();
  await app.listen(port, host);
  new Logger('Bootstrap').log(`Listening on http://${host}:${port} (POST /auth/login, GET /auth/me, GET /health)`);
}

bootstrap().catch((error: unknown) => {
  console.error(`\nStart-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
