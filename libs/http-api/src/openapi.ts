import { Body, Query } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse, type OpenAPIObject, type ParameterObject, type SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './error-codes';
import { ZodPipe } from './zod-pipe';

/*
 * Why zod 4's own z.toJSONSchema and not a Nest integration (nestjs-zod, @anatine/zod-nestjs):
 * zod 4 already emits JSON Schema for OpenAPI 3.0 (`target: 'openapi-3.0'`), input or output
 * side (`io`), with examples from `.meta()`; @nestjs/swagger takes raw schema objects. The
 * glue is two parameter decorators and one post-processing pass (below), no new dependency
 * whose zod 4 support lags, and the pipe is ours so its messages stay the API's.
 */

/**
 * OpenAPI 3.0's `nullable` does not add null to an `enum` (the specification's own
 * clarification): a nullable enum lists null itself, so validators accept null; and
 * `nullable` without `type` is invalid, so it is dropped where any value is allowed.
 */
function nullableEnums(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullableEnums);
  if (typeof node !== 'object' || node === null) return;
  const n = node as { nullable?: boolean; enum?: unknown[]; type?: unknown };
  if (n.nullable && Array.isArray(n.enum) && !n.enum.includes(null)) n.enum.push(null);
  // `nullable` needs a `type` (OpenAPI 3.0); a schema without one already accepts null.
  if (n.nullable && n.type === undefined) delete n.nullable;
  Object.values(node).forEach(nullableEnums);
}

/** The JSON Schema of what a client sends (defaults make fields optional), for OpenAPI 3.0. */
export function requestSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  nullableEnums(json);
  return json;
}

/** The JSON Schema of an answer. */
export function responseSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  nullableEnums(json);
  return json;
}

function methodDescriptor(target: object, key: string | symbol | undefined): [string | symbol, PropertyDescriptor] {
  if (key === undefined) throw new Error('ZodBody/ZodQuery decorate a route handler parameter');
  const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
  if (!descriptor) throw new Error(`ZodBody/ZodQuery: no method ${String(key)}`);
  return [key, descriptor];
}

/** `@ZodBody(schema)`: the body, validated by the schema (400 VALIDATION_FAILED) and documented from it. */
export function ZodBody(schema: z.ZodType, example?: unknown): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodPipe(schema))(target, key, index);
    const [name, descriptor] = methodDescriptor(target, key);
    const meta = z.globalRegistry.get(schema) as { example?: unknown } | undefined;
    const ex = example ?? meta?.example;
    ApiBody({ schema: requestSchema(schema), ...(ex !== undefined ? { examples: { example: { value: ex } } } : {}) })(target, name, descriptor);
  };
}

/** `@ZodQuery(schema)`: the query string, validated by the object schema (400 INVALID_QUERY) and documented parameter by parameter. */
export function ZodQuery(schema: z.ZodObject | z.ZodPipe<z.ZodObject, z.ZodType>): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodPipe(schema, 'INVALID_QUERY'))(target, key, index);
    const [name, descriptor] = methodDescriptor(target, key);
    // A query refined as a whole (a transform over the object) documents the object's parameters.
    const json = requestSchema(schema instanceof z.ZodPipe ? schema.in : schema) as { properties?: Record<string, SchemaObject>; required?: string[] };
    for (const [param, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property;
      ApiQuery({ name: param, required: json.required?.includes(param) ?? false, schema: rest, ...(description ? { description } : {}) })(
        target,
        name,
        descriptor,
      );
    }
  };
}

/** The body of every error of the /v1, /admin and internal routes; `code` is one of the registry's. */
export const errorBodySchema = z
  .strictObject({
    statusCode: z.number().int(),
    success: z.literal(false),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    errors: z.array(z.string()),
  })
  .meta({ example: { statusCode: 400, success: false, code: 'VALIDATION_FAILED', message: 'name is required', errors: ['name is required'] } });

/** Which error statuses a route can answer with, beyond those every route has (500, 503). */
export interface ErrorRule {
  /** Path prefix the rule applies to, e.g. '/admin/'. */
  prefix: string;
  /** Security requirement alternatives (any one is enough). */
  security: readonly Record<string, string[]>[];
  /** Schema name in components.schemas for this family's errors. */
  errorSchema: string;
  /** Rate-limited routes also answer 429. */
  rateLimited?: (path: string, method: string) => boolean;
  /** Statuses particular to some operations (409 conflicts, 412 debug refusals…). */
  extra?: (path: string, method: string) => number[];
}

const describeCodes = (status: number): string =>
  (Object.keys(ERROR_CODES) as ErrorCode[])
    .filter((code) => ERROR_CODES[code].status === status)
    .map((code) => `\`${code}\``)
    .join(', ');

/**
 * Completes a generated document: for every operation, the security requirement of its
 * route family and every error status it can answer (with the family's error schema and
 * the codes of that status); headers that authentication covers are removed (the security
 * schemes send them) and `Idempotency-Key` is optional.
 */
export function completeDocument(document: OpenAPIObject, rules: ErrorRule[]): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    const rule = rules.find((r) => path.startsWith(r.prefix));
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = item[method];
      if (!op) continue;
      const params = (op.parameters ?? []) as ParameterObject[];
      const kept = params
        .filter((p) => !(p.in === 'header' && ['x-api-key', 'spm-api-key', 'authorization'].includes(p.name.toLowerCase())))
        .map((p) =>
          p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'
            ? {
                ...p,
                name: 'Idempotency-Key',
                required: false,
                schema: { type: 'string', maxLength: 255 },
                description: 'Optional: a request repeated with the same key answers the first event_id instead of queueing the event again',
              }
            : p,
        );
      op.parameters = kept;
      if (!rule) continue;
      op.security = [...rule.security];
      const statuses = new Set<number>([500, 503]);
      if (rule.security.length > 0) statuses.add(401);
      if (op.requestBody || kept.some((p) => p.in === 'query') || method === 'post' || method === 'put' || method === 'patch') statuses.add(400);
      if (kept.some((p) => p.in === 'path') || rule.prefix === '/admin/') statuses.add(404);
      if (op.requestBody) statuses.add(413).add(415);
      if (rule.rateLimited?.(path, method)) statuses.add(429);
      for (const status of rule.extra?.(path, method) ?? []) statuses.add(status);
      const responses = op.responses;
      for (const status of [...statuses].sort()) {
        if (responses[status]) continue;
        responses[status] = {
          description: `Error: ${describeCodes(status)} (see docs/api.md)`,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${rule.errorSchema}` } } },
        };
      }
    }
  }
  return document;
}

/**
 * An example value for a JSON Schema: the schema's own `example` when it has one (zod's
 * `.meta({ example })`), else one built field by field (first enum value, a typed
 * placeholder). Hand-rolled: a dozen lines over the subset z.toJSONSchema emits, where a
 * faker-style generator would add a dependency and random output to a checked-in document.
 */
export function exampleOf(schema: SchemaObject | undefined): unknown {
  if (!schema) return null;
  const s = schema as SchemaObject & { example?: unknown; const?: unknown; anyOf?: SchemaObject[]; oneOf?: SchemaObject[] };
  if (s.example !== undefined) return s.example;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const alternative = s.anyOf?.[0] ?? s.oneOf?.[0] ?? s.allOf?.[0];
  if (alternative) return exampleOf(alternative as SchemaObject);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(s.properties ?? {})) out[key] = exampleOf(property as SchemaObject);
      return out;
    }
    case 'array':
      return s.items ? [exampleOf(s.items as SchemaObject)] : [];
    case 'string':
      return s.format === 'date-time'
        ? '2026-01-01T00:00:00.000Z'
        : s.format === 'uuid'
          ? '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'
          : s.format === 'email'
            ? 'marie@example.com'
            : 'string';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
    case undefined:
      return s.nullable ? null : {};
  }
}

/**
 * `@ZodAnswer(status, schema)`: documents a 2xx answer of the operation from the zod schema
 * that describes it, with an example (exampleOf). The contract test validates real answers
 * against it.
 */
export function ZodAnswer(status: number, schema: z.ZodType, description = 'Success', mediaType = 'application/json'): MethodDecorator {
  const json = responseSchema(schema);
  return ApiResponse({ status, description, content: { [mediaType]: { schema: json, example: exampleOf(json) } } });
}

/**
 * `@DocBody(schema)`: documents the request body from the zod schema a library parser
 * validates it with (scenarios, contacts: the parse adds checks a shape cannot express, and
 * its messages), without a second validation in a pipe.
 */
export function DocBody(schema: z.ZodType, example?: unknown): MethodDecorator {
  const meta = z.globalRegistry.get(schema) as { example?: unknown } | undefined;
  const ex = example ?? meta?.example;
  return ApiBody({ schema: requestSchema(schema), ...(ex !== undefined ? { examples: { example: { value: ex } } } : {}) });
}
