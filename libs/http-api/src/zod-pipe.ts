import { type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from './api-error';

/**
 * Every reason of a failed parse, one line each: `Unknown field: x` for each unknown key,
 * the schema's own message when it names its field, `path: message` otherwise.
 */
export function issueMessages(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const prefix = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `Unknown field: ${prefix ? `${prefix}.` : ''}${key}`);
    if (!prefix || issue.message.startsWith(prefix)) return [issue.message];
    return [`${prefix}: ${issue.message}`];
  });
}

/**
 * Validates a body (VALIDATION_FAILED) or a query (INVALID_QUERY) with its zod schema —
 * the same schema the OpenAPI document is generated from — and hands the parsed value on.
 * Every reason at once, in the shared error shape.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    readonly schema: S,
    private readonly code: 'VALIDATION_FAILED' | 'INVALID_QUERY' = 'VALIDATION_FAILED',
  ) {}

  transform(value: unknown): z.output<S> {
    // A request without a body (or without a query string) is an empty object: the schema
    // then says which fields are required, instead of "not an object".
    const parsed = this.schema.safeParse(value === undefined ? {} : value);
    if (!parsed.success) throw ApiError.badRequest(issueMessages(parsed.error), this.code);
    return parsed.data;
  }
}
