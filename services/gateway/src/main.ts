import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import { ConfigError, describeConfig, gatewayConfigSchema, loadConfig } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { historyTokenFor } from '@relay/http-api';
import { RelayMetrics, createLogger, serviceFastifyAdapter } from '@relay/observability';
import { secretKeyFor } from '@relay/webhooks';
import { GatewayModule } from './app.module';
import { gatewayErrorFilter } from './http/error.filter';
import { gatewayDocument } from './http/openapi';

async function bootstrap(): Promise<void> {
  const config = loadConfig('gateway', gatewayConfigSchema);
  const log = createLogger('gateway', config.RELAY_LOG_LEVEL);
  log.info({ config: describeConfig(config) }, 'starting');
  // The gateway seals signing secrets (endpoint creation, rotation): same key rule as the dispatcher.
  secretKeyFor(config.RELAY_WEBHOOK_SECRET_KEY, config.NODE_ENV, (message) => log.warn(message));
  // The credential it sends to the history service's internal API: same rule.
  historyTokenFor(config.RELAY_HISTORY_TOKEN, config.NODE_ENV, (message) => log.warn(message));
  await prepareDatabase(config.RELAY_PG_URL, (msg) => log.debug(msg));

  const adapter = serviceFastifyAdapter({
    bodyLimit: config.RELAY_MAX_BODY_BYTES,
    trustProxy: true,
    // A client has RELAY_REQUEST_TIMEOUT_MS to send its whole request; a slower upload gets
    // 408 from Node's HTTP server, so slow clients cannot hold sockets and memory at will.
    requestTimeout: config.RELAY_REQUEST_TIMEOUT_MS,
    http: {
      // Given to Node's server at creation too: only then does it also bound the headers
      // wait by it (headersTimeout, 60 s otherwise), without which no deadline is checked.
      requestTimeout: config.RELAY_REQUEST_TIMEOUT_MS,
      // Node checks request deadlines on this interval (30 s by default): a fraction of the
      // timeout keeps the 408 close to the deadline.
      connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(config.RELAY_REQUEST_TIMEOUT_MS / 4))),
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(gatewayErrorFilter(await app.resolve(PinoLogger)));
  app.enableShutdownHooks();

  const metrics = app.get(RelayMetrics);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.httpRequests.inc({ ...labels, status_class: `${Math.floor(reply.statusCode / 100)}xx` });
    metrics.httpSeconds.observe(labels, reply.elapsedTime / 1000);
  });

  const document = gatewayDocument(app);
  SwaggerModule.setup('docs', app, document);

  await app.listen(config.RELAY_GATEWAY_PORT, config.RELAY_GATEWAY_HOST);
  log.info({ port: config.RELAY_GATEWAY_PORT }, 'gateway listening');
}

bootstrap().catch((error: unknown) => {
  // A configuration error names every bad variable; anything else is logged with its cause.
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('gateway failed to start:', error);
  process.exit(1);
});
