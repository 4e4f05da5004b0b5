import { z } from 'zod';

/**
 * `limit`: an integer 1..max in the query string, `fallback` when absent. One schema, one
 * message and one code (INVALID_QUERY, through @ZodQuery) on every list route of every service.
 */
export const limitParam = (max: number, fallback: number) => {
  const message = `limit must be an integer between 1 and ${max}`;
  return z.coerce.number({ error: message }).int(message).min(1, message).max(max, message).default(fallback).describe(`1 to ${max} (default ${fallback})`);
};

export const cursorParam = z.string().min(1).optional().describe('next_cursor of the previous page');

/** `?limit&cursor`: the page of a cursor-paginated list (other parameters are ignored, as HTTP caches and proxies may add some). */
export const pageQuery = (max: number, fallback: number) => z.object({ limit: limitParam(max, fallback), cursor: cursorParam });
export type PageQuery = z.output<ReturnType<typeof pageQuery>>;
