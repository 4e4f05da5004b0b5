import { z } from 'zod';
import { cursorParam, limitParam } from '@relay/http-api';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './queries';

/**
 * listEventHistories' query string: the gateway validates its callers' queries with it
 * (GET /v1/event-histories) and the history service its own (with `team_id`), both
 * through @ZodQuery, so a bad parameter is INVALID_QUERY with the same message on both.
 * Dates and cursors are checked by the store (HistoryValidationError → INVALID_QUERY).
 */
export const historyFiltersQuery = z.object({
  code_name: z.string().min(1).optional(),
  status: z.string().min(1).optional().describe('accepted, validated, rejected, no_target, matched, scheduled, unmatched'),
  contact_id: z.string().min(1).optional(),
  contact_email: z.string().min(1).optional(),
  contact_phone: z.string().min(1).optional(),
  visitor_id: z.string().min(1).optional(),
  environment: z.enum(['production', 'staging'], { error: 'environment must be "production" or "staging"' }).optional(),
  from: z.string().min(1).optional().describe('ISO 8601 date-time (inclusive)'),
  to: z.string().min(1).optional().describe('ISO 8601 date-time (exclusive)'),
  limit: limitParam(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT),
  cursor: cursorParam,
});
export type HistoryFiltersQuery = z.output<typeof historyFiltersQuery>;
