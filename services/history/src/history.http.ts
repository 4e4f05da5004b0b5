import { Controller, Get, HttpException, Inject, Param, Query } from '@nestjs/common';
import { HistoryQueries, HistoryValidationError, type EventHistoryPage, type EventHistoryRow } from '@relay/history-store';

const fail = (status: number, code: string, message: string): HttpException =>
  new HttpException({ statusCode: status, success: false, code, message, errors: [message] }, status);

/**
 * The history query API, reached through the gateway (which authenticates the caller and
 * passes its team). Internal: it trusts `team_id` and must not be exposed publicly.
 */
@Controller('internal/v1/event-histories')
export class HistoryHttpController {
  constructor(@Inject(HistoryQueries) private readonly queries: HistoryQueries) {}

  @Get()
  async list(@Query() q: Record<string, string | undefined>): Promise<EventHistoryPage & { success: true }> {
    if (!q.team_id) throw fail(400, 'INVALID_QUERY', 'team_id is required');
    let limit: number | undefined;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit)) throw fail(400, 'INVALID_LIMIT', 'limit must be an integer between 1 and 500');
    }
    try {
      const page = await this.queries.listEventHistories({
        teamId: q.team_id,
        ...(q.code_name ? { codeName: q.code_name } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.contact_id ? { contactId: q.contact_id } : {}),
        ...(q.contact_email ? { contactEmail: q.contact_email.toLowerCase() } : {}),
        ...(q.environment ? { environment: q.environment } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { success: true, ...page };
    } catch (error) {
      if (error instanceof HistoryValidationError) throw fail(400, error.code, error.message);
      throw error;
    }
  }

  @Get(':event_id')
  async get(@Param('event_id') eventId: string, @Query('team_id') teamId?: string): Promise<{ success: true; data: EventHistoryRow }> {
    if (!teamId) throw fail(400, 'INVALID_QUERY', 'team_id is required');
    const row = await this.queries.getEvent(teamId, eventId);
    if (!row) throw fail(404, 'EVENT_NOT_FOUND', `Event not found: ${eventId}`);
    return { success: true, data: row };
  }
}
