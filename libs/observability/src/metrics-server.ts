import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { RelayMetrics } from './metrics';

/**
 * Serves a registry as `GET /metrics` (Prometheus text) on host:port, and nothing else
 * (404): a port of its own, so metrics stay off a public API port. Node's http server
 * rather than a second Nest/Fastify app: one route, no middleware, nothing to configure.
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const METRICS_LISTEN = Symbol('METRICS_LISTEN');

/** The service's metrics on their own port (ObservabilityOptions.metrics), for the life of the app. */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: { stop(): Promise<void> } | null = null;

  constructor(
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
    @Inject(METRICS_LISTEN) private readonly listen: { port: number; host: string },
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.server = await serveMetrics(this.metrics.registry, this.listen.port, this.listen.host);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }
}
