import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_CODES, completeDocument, errorBodySchema, responseSchema, type ErrorCode } from '@relay/http-api';

/** Seed 003's error shape (the Sendmator routes): the seed's fields, extended with Relay's code and reasons. */
const sendmatorErrorSchema = z
  .object({
    statusCode: z.number().int(),
    message: z.string().describe('the seed\'s exact message, e.g. "Unauthorized", "Invalid team context"'),
    error: z.string().describe('the HTTP reason phrase'),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    errors: z.array(z.string()),
  })
  .meta({
    example: { statusCode: 401, message: 'Invalid team context', error: 'Unauthorized', code: 'INVALID_TEAM_CONTEXT', errors: ['Invalid team context'] },
  });

const API_KEY: Record<string, string[]>[] = [{ 'api-key': [] }, { 'api-key-bearer': [] }, { 'spm-api-key': [] }];
const RATE_LIMITED = new Set(['post /v1/events/trigger/{code_name}', 'post /api/v1/events/send', 'post /api/v1/events/trigger', 'post /http/v1/collect']);
const rateLimited = (path: string, method: string) => RATE_LIMITED.has(`${method} ${path}`);

/** Statuses only some operations answer: conflicts, the Simon debug refusals. */
function extra(path: string, method: string): number[] {
  if (path === '/v1/events' && method === 'post') return [409];
  if (path === '/v1/events/{code_name}' && method === 'patch') return [409];
  if (path.startsWith('/v1/contacts') && (method === 'post' || method === 'put')) return [409];
  if (path.startsWith('/admin/v1/keys/')) return [409];
  if (path === '/http/v1/collect') return [401, 412];
  // Seed 003's table: 404 Event type not found.
  if (path === '/api/v1/events/send' || path === '/api/v1/events/trigger') return [404];
  return [];
}

/**
 * The gateway's OpenAPI document (served at /docs and /docs-json; docs/openapi.json is its
 * checked-in copy, compared with the running gateway by services/gateway/e2e/openapi.e2e.spec.ts).
 */
export function gatewayDocument(app: INestApplication): OpenAPIObject {
  const base = new DocumentBuilder()
    .setTitle('Relay API')
    .setDescription(
      'Event types, ingestion (seed 000, and the Sendmator and Simon dialects of seeds 003 and 002), scenarios, contacts, webhooks, history, triggers; ' +
        'operators manage teams and keys under /admin/v1. Errors and their codes: docs/api.md.',
    )
    .setVersion('0.1.0')
    .addApiKey({ type: 'apiKey', name: 'X-API-Key', in: 'header', description: 'The team API key' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The team API key as `Authorization: Bearer <key>`' }, 'api-key-bearer')
    .addApiKey({ type: 'apiKey', name: 'spm-api-key', in: 'header', description: "The team API key in seed 000's header" }, 'spm-api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'RELAY_ADMIN_TOKEN as `Authorization: Bearer <token>`' }, 'admin-token')
    .build();
  const document = SwaggerModule.createDocument(app, base);
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Error: responseSchema(errorBodySchema), SendmatorError: responseSchema(sendmatorErrorSchema) },
  };
  // The import streams NDJSON both ways: its body is not JSON, so it is described here.
  const importOp = document.paths['/v1/contacts/import']?.post;
  if (importOp) {
    importOp.requestBody = {
      required: true,
      content: {
        'application/x-ndjson': {
          schema: { type: 'string', description: 'one POST /v1/contacts body per line' },
          example: '{"email":"a@example.com"}\n{"email":"b@example.com"}\n',
        },
      },
    };
  }
  return completeDocument(document, [
    { prefix: '/admin/', security: [{ 'admin-token': [] }], errorSchema: 'Error', extra },
    { prefix: '/api/v1/', security: API_KEY, errorSchema: 'SendmatorError', rateLimited, extra },
    // Simon's collect authenticates with partnerSecret in the body (seed 002), not a header.
    { prefix: '/http/v1/', security: [], errorSchema: 'Error', rateLimited, extra },
    { prefix: '/v1/', security: API_KEY, errorSchema: 'Error', rateLimited, extra },
  ]);
}
