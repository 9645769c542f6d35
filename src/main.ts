import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { appConfigFromEnvironment } from './config/app.config.js';
import { assertValidConfiguration, isConfigurationError } from './config/configuration-check.js';
import { EntryPointLogger } from './logging/entry-point-logger.js';
import { PrometheusMetrics } from './metrics/prometheus-metrics.js';
import { configureHttpApp, httpAdapterFor } from './http/http-platform.js';

async function bootstrap(): Promise<void> {
  // Every variable, the app's and the LDAP library's, checked in one pass before anything starts.
  await assertValidConfiguration(process.env);
  const { port, host, httpAdapter } = appConfigFromEnvironment(process.env, { warnings: false });
  const options = {
    // abortOnError: false so a failure reaches the catch below with its message, not a stack dump.
    abortOnError: false,
    // Express: the login route reads its JSON body itself, with its own limit (AppModule); forms get their
    // parser in configureHttpApp. Fastify: see configureHttpApp.
    bodyParser: httpAdapter === 'fastify',
    // The catch below prints a configuration error's message, which says everything.
    logger: new EntryPointLogger({ reportedByCaller: isConfigurationError }),
  };
  const adapter = await httpAdapterFor(httpAdapter);
  const app = adapter
    ? await NestFactory.create(AppModule, adapter, options)
    : await NestFactory.create(AppModule, options);
  configureHttpApp(app, httpAdapter);
  app.enableShutdownHooks();
  await app.listen(port, host);
  const logger = new Logger('Bootstrap');
  const routes = [
    'POST /auth/login',
    'GET /auth/me',
    'GET /health',
    ...(app.get(PrometheusMetrics).enabled ? ['GET /metrics'] : []),
  ];
  logger.log(`Listening on http://${host}:${port} (${routes.join(', ')})`);
  // A directory that is down (or refuses the service account) at start-up does not stop the app: the library
  // probes it as the app starts and logs the cause; logins answer 503 until it is back.
}

bootstrap().catch((error: unknown) => {
  console.error(`\nStart-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
