import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE, PrometheusMetrics } from './prometheus-metrics.js';

/**
 * `GET /metrics`, unauthenticated like `/health`, for Prometheus to scrape: counts of logins and refusal codes,
 * LDAP latencies, pool sizes, sync runs (no user names, DNs or addresses). Keep it off the public path (the
 * reverse proxy's job, see docs/metrics.md), or turn it off with METRICS_ENABLED=false (then 404).
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PrometheusMetrics) {}

  @Get()
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  async scrape(): Promise<string> {
    if (!this.metrics.enabled) throw new NotFoundException();
    return this.metrics.text();
  }
}
