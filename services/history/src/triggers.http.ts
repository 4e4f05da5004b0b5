import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import {
  HistoryQueries,
  triggerStatus,
  triggerWorkflow,
  type EventHistoryWithRelations,
  type TriggerStatusView,
  type TriggerWorkflowView,
} from '@relay/history-store';
import { fail } from './http-error';
import { ServiceTokenGuard } from './service-token.guard';

/** The caller's prefix decides the workflow link: seed 003's `/triggers` for /api/v1, `/v1/triggers` for /v1. */
const DETAILS_BASES = new Set(['/triggers', '/v1/triggers']);

/**
 * Seed 003's trigger tracking, computed from the event's history (the row, its scenario
 * runs and deliveries: what `GET /internal/v1/event-histories/:id` returns), so the
 * trigger's numbers and the event history always agree. Reached through the gateway,
 * which authenticates the caller and passes its team: internal, it trusts `team_id`.
 */
@UseGuards(ServiceTokenGuard)
@Controller('internal/v1/triggers')
export class TriggersHttpController {
  constructor(@Inject(HistoryQueries) private readonly queries: HistoryQueries) {}

  @Get(':event_id')
  @ApiOperation({ summary: "Seed 003's trigger status, computed from the event's history" })
  async status(@Param('event_id') eventId: string, @Query() q: Record<string, string | undefined>): Promise<TriggerStatusView> {
    const base = q.details_base ?? '/triggers';
    if (!DETAILS_BASES.has(base)) throw fail('INVALID_QUERY', 'details_base must be /triggers or /v1/triggers');
    const now = Date.now();
    return triggerStatus(await this.load(eventId, q, now), { now, detailsBase: base });
  }

  @Get(':event_id/workflow')
  @ApiOperation({ summary: "The trigger's workflow: each scenario's outcome and each delivery" })
  async workflow(@Param('event_id') eventId: string, @Query() q: Record<string, string | undefined>): Promise<TriggerWorkflowView> {
    const now = Date.now();
    return triggerWorkflow(await this.load(eventId, q, now), { now });
  }

  /** The event with its runs and deliveries, as of `now` (the same instant the status is computed for). */
  private async load(eventId: string, q: Record<string, string | undefined>, now: number): Promise<EventHistoryWithRelations> {
    if (!q.team_id) throw fail('INVALID_QUERY', 'team_id is required');
    const row = await this.queries.getEvent(q.team_id, eventId);
    if (!row) throw fail('TRIGGER_NOT_FOUND', `Trigger not found: ${eventId}`);
    const [withRelations] = await this.queries.attachRelations(q.team_id, [row], now);
    return withRelations ?? { ...row, scenario_runs: [], deliveries: [] };
  }
}
