import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { completeDocument, errorBodySchema, responseSchema } from '@relay/http-api';

/**
 * The history service's internal API, its own document (served at /docs and /docs-json on
 * the history port): the gateway forwards /v1/event-histories and the trigger routes here
 * with the caller's team. Every /internal route needs the service token
 * (`Authorization: Bearer <RELAY_HISTORY_TOKEN>`), and the port stays on the internal network.
 */
export function setupHistoryDocument(app: INestApplication): void {
  const base = new DocumentBuilder()
    .setTitle('Relay history service (internal)')
    .setDescription('Reached through the gateway, which authenticates the caller and passes team_id. Errors: docs/api.md.')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'RELAY_HISTORY_TOKEN as `Authorization: Bearer <token>`' }, 'service-token')
    .build();
  const document = SwaggerModule.createDocument(app, base);
  document.components = { ...document.components, schemas: { ...document.components?.schemas, Error: responseSchema(errorBodySchema) } };
  SwaggerModule.setup(
    'docs',
    app,
    completeDocument(document, [
      { prefix: '/internal/', security: [{ 'service-token': [] }], errorSchema: 'Error', extra: (path, method) => (method === 'get' ? [400] : []) },
    ]),
  );
}
