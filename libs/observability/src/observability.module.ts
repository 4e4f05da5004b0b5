import { Controller, Get, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ApiInternalServerErrorResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodAnswer } from '@relay/http-api';
import { z } from 'zod';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { ServerOptions } from 'node:http';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyServerOptions } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import { createLogger } from './logger';
import { RelayMetrics } from './metrics';
import { METRICS_LISTEN, MetricsServer } from './metrics-server';
import { Readiness } from './readiness';

export interface ObservabilityOptions {
  service: string;
  logLevel: string;
  /**
   * Serve /metrics on this port of its own instead of the app's HTTP port (the gateway,
   * whose HTTP port is public). Unset: /metrics is a route of the app, next to /health.
   */
  metrics?: { port: number; host: string };
}

export const SERVICE_NAME = Symbol('SERVICE_NAME');
const READINESS_TIMEOUT_MS = 2000;

@ApiTags('operations')
@Controller()
class MetricsController {
  constructor(@Inject(RelayMetrics) private readonly metrics: RelayMetrics) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics of this process (text exposition format)' })
  @ZodAnswer(200, z.string().meta({ example: '# HELP relay_http_requests_total …' }), 'Prometheus text format', 'text/plain')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@ApiTags('operations')
@Controller('health')
class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  /** Live: the process answers. Restart it only if this fails. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (restart it only if this fails)' })
  @ZodAnswer(200, z.object({ status: z.literal('ok') }))
  // The only failure an answering process has: the app-level error filter's 500 INTERNAL.
  @ApiInternalServerErrorResponse({ description: 'Error: INTERNAL (see docs/api.md)', schema: { $ref: '#/components/schemas/Error' } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready: every dependency answers within the timeout (503 otherwise, naming which). */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every dependency answers within 2 s (503 naming the ones that do not)' })
  @HealthCheck()
  ready() {
    return this.health.check(
      this.readiness.entries().map(([name, check]) => async () => {
        const session = this.indicators.check(name);
        try {
          await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), READINESS_TIMEOUT_MS).unref())]);
          return session.up();
        } catch (error) {
          return session.down({ message: (error as Error).message });
        }
      }),
    );
  }
}

/**
 * Logging (pino, JSON), metrics (/metrics) and health (/health/live, /health/ready) for
 * every service, configured the same way everywhere. /metrics is served on the app's port,
 * or on a port of its own with `metrics` (then the app's port answers 404 for it).
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    const logger = createLogger(options.service, options.logLevel);
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        LoggerModule.forRoot({
          pinoHttp: { logger },
          // No pino-http middleware: no line per request (at ingest rates it cost ~20% of the
          // gateway's CPU even when filtered by level), and not even its two child loggers
          // per request (one serializes and redacts the request): ~9% of the gateway's CPU on
          // the trigger route, for a per-process request counter in the few lines logged
          // while a request runs (measured in docs/benchmarks.md). Requests are counted and
          // timed in relay_http_* metrics; failures are logged by the services' error
          // handling, with this logger.
          useExisting: true,
          // Nor its other middleware: with `useExisting` it only runs each request inside an
          // AsyncLocalStorage scope holding no logger of its own (PinoLogger falls back to this
          // one anyway), and any Nest middleware makes Fastify run @fastify/middie on every
          // request (~8% of the gateway's CPU on the trigger route, docs/benchmarks.md). No
          // route gets it, and the services' Fastify adapter runs without middie
          // (serviceFastifyAdapter).
          forRoutes: [],
        }),
      ],
      controllers: options.metrics ? [HealthController] : [MetricsController, HealthController],
      providers: [
        ...(options.metrics ? [{ provide: METRICS_LISTEN, useValue: options.metrics }, MetricsServer] : []),
        { provide: SERVICE_NAME, useValue: options.service },
        { provide: RelayMetrics, useValue: new RelayMetrics(options.service) },
        Readiness,
      ],
      exports: [RelayMetrics, Readiness, SERVICE_NAME],
    };
  }
}

/**
 * Every Relay service's Fastify adapter. No service installs Nest middleware (see
 * ObservabilityModule), so Fastify runs without @fastify/middie, the Express-style layer Nest
 * would otherwise run on every request.
 */
export function serviceFastifyAdapter(options: FastifyServerOptions & { http?: ServerOptions } = {}): FastifyAdapter {
  return new FastifyAdapter({ ...options, skipMiddie: true });
}
