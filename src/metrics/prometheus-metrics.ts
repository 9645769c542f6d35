import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ldapAuthMetrics } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';

/** The content type of Prometheus' text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The OpenTelemetry SDK behind `GET /metrics`: a MeterProvider registered as the global one (where the library's
 * instruments, on `@opentelemetry/api`, find it) with a Prometheus reader that serves no port of its own: the
 * controller asks it for the text. Off with METRICS_ENABLED=false: nothing is registered and the library's
 * instruments stay no-ops.
 */
@Injectable()
export class PrometheusMetrics implements OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly reader?: PrometheusExporter;
  private readonly provider?: MeterProvider;
  /** No scope labels on every series, no target_info: only the library's metrics, as docs/metrics.md lists them. */
  private readonly serializer = new PrometheusSerializer('', false, undefined, true, true);

  constructor(@Inject(appConfig.KEY) config: ConfigType<typeof appConfig>) {
    if (!config.metricsEnabled) return;
    this.reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
    this.provider = new MeterProvider({ readers: [this.reader] });
    if (!metrics.setGlobalMeterProvider(this.provider)) {
      // Another MeterProvider (the app's own OpenTelemetry setup) gets the library's metrics: export them there.
      this.logger.warn('A global OpenTelemetry MeterProvider is already registered: GET /metrics shows nothing');
    }
    // The library's pools may have started before this provider existed: their gauges move to it now.
    ldapAuthMetrics.attach();
  }

  get enabled(): boolean {
    return this.reader !== undefined;
  }

  /** Everything recorded so far, in Prometheus' text format. */
  async text(): Promise<string> {
    if (!this.reader) return '';
    const { resourceMetrics, errors } = await this.reader.collect();
    for (const error of errors) this.logger.warn(`A metric could not be read: ${String(error)}`);
    return this.serializer.serialize(resourceMetrics);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.provider) return;
    if (metrics.getMeterProvider() === this.provider) metrics.disable();
    await this.provider.shutdown();
  }
}
