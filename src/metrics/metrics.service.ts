import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Prometheus metrics of this process, in their own registry. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly cacheHits = new Counter({
    name: 'cache_hits_total',
    help: 'Responses served from the response cache, by layer: edge (before the pipeline, src/cache/cached-reads.ts; the only one).',
    labelNames: ['layer'] as const,
    registers: [this.registry],
  });

  readonly cacheMisses = new Counter({
    name: 'cache_misses_total',
    help: 'Cacheable requests that were not in the response cache.',
    registers: [this.registry],
  });

  readonly livenessFastPath = new Counter({
    name: 'liveness_fast_path_answers_total',
    help: 'GET /health answers given at the HTTP server, before Fastify (also counted in http_requests_total).',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429.',
    registers: [this.registry],
  });

  constructor(dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry });
    // The series from the start, so a scrape shows 0 before the first hit.
    this.cacheHits.inc({ layer: 'edge' }, 0);
    const pool = (): PgPool | undefined =>
      dataSource.isInitialized
        ? ((dataSource.driver as unknown as { master?: PgPool }).master ?? undefined)
        : undefined;
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections, by state (in_use, idle, waiting clients).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const p = pool();
        this.set({ state: 'in_use' }, p ? p.totalCount - p.idleCount : 0);
        this.set({ state: 'idle' }, p ? p.idleCount : 0);
        this.set({ state: 'waiting' }, p ? p.waitingCount : 0);
      },
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}
