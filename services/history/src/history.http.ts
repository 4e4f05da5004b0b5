import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { HistoryQueries, HistoryValidationError, historyFiltersQuery, type EventHistoryWithRelations } from '@relay/history-store';
import { ZodAnswer, ZodQuery } from '@relay/http-api';
import { z } from 'zod';
import { fail } from './http-error';
import { ServiceTokenGuard } from './service-token.guard';

const listQuery = historyFiltersQuery.extend({ team_id: z.string({ error: 'team_id is required' }).min(1, 'team_id is required') });

/**
 * The history query API, reached through the gateway (which authenticates the caller and
 * passes its team). Internal: it trusts `team_id` and must not be exposed publicly.
 */
@UseGuards(ServiceTokenGuard)
@Controller('internal/v1/event-histories')
export class HistoryHttpController {
  constructor(@Inject(HistoryQueries) private readonly queries: HistoryQueries) {}

  @Get()
  @ApiOperation({ summary: "List the team's event history, newest first, cursor-paginated (team_id required)" })
  @ZodAnswer(200, z.looseObject({ success: z.literal(true), data: z.array(z.looseObject({})), next_cursor: z.string().nullable() }))
  async list(@ZodQuery(listQuery) q: z.output<typeof listQuery>): Promise<{ success: true; data: EventHistoryWithRelations[]; next_cursor: string | null }> {
    try {
      const page = await this.queries.listEventHistories({
        teamId: q.team_id,
        ...(q.code_name ? { codeName: q.code_name } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.contact_id ? { contactId: q.contact_id } : {}),
        ...(q.contact_email ? { contactEmail: q.contact_email.toLowerCase() } : {}),
        ...(q.contact_phone ? { contactPhone: q.contact_phone } : {}),
        ...(q.visitor_id ? { visitorId: q.visitor_id } : {}),
        ...(q.environment ? { environment: q.environment } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      // Each row with the scenario runs and deliveries it caused (seed 000: diagnose a
      // scenario that does not fire from the trigger history).
      return { success: true, data: await this.queries.attachRelations(q.team_id, page.data), next_cursor: page.next_cursor };
    } catch (error) {
      // A bad limit, cursor or date in the query: the one code for a bad query parameter.
      if (error instanceof HistoryValidationError) throw fail('INVALID_QUERY', error.message);
      throw error;
    }
  }

  @Get(':event_id')
  @ApiOperation({ summary: 'One event of the team with the scenario runs and deliveries it caused' })
  async get(@Param('event_id') eventId: string, @Query('team_id') teamId?: string): Promise<{ success: true; data: EventHistoryWithRelations }> {
    if (!teamId) throw fail('INVALID_QUERY', 'team_id is required');
    const row = await this.queries.getEvent(teamId, eventId);
    if (!row) throw fail('EVENT_NOT_FOUND', `Event not found: ${eventId}`);
    const [withRelations] = await this.queries.attachRelations(teamId, [row]);
    return { success: true, data: withRelations ?? { ...row, scenario_runs: [], deliveries: [] } };
  }
}
