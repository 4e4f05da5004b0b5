import { Get, Inject, Param, Req } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import type { TriggerStatusView, TriggerWorkflowView } from '@relay/history-store';
import { TriggersRepository, type JsonMap } from '@relay/scenarios';
import { Principal } from '../auth/api-key.guard';
import { getFromHistory } from '../history/history-api';
import { CONFIG, type Config } from '../tokens';
import { ZodAnswer } from '@relay/http-api';
import { triggerStatusView, triggerWorkflowView } from '../http/answers';
import { TeamRoutes } from '../http/routes';

/**
 * Seed 003's trigger tracking, under its own `/api/v1/triggers` and as `/v1/triggers`.
 * The trigger id is the event_id. Status and counts are computed by the history service
 * from the event's history (its scenario runs and deliveries), the same data as
 * `GET /v1/event-histories/:id`, so the two always agree: `sent` counts deliveries that
 * succeeded. The workflow adds what history does not hold: how the matcher resolved the
 * contact (its PostgreSQL row).
 */
@TeamRoutes('triggers', ['v1/triggers', 'api/v1/triggers'])
export class TriggersController {
  constructor(
    @Inject(TriggersRepository) private readonly triggers: TriggersRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get(':id')
  @ApiOperation({ summary: 'Trigger status and counts (seed 003): sent = delivered, plus failed, filtered, scheduled, cancelled, pending' })
  @ZodAnswer(200, triggerStatusView)
  async status(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string, @Req() req: FastifyRequest): Promise<TriggerStatusView> {
    // Seed 003 advertises `/triggers/<id>/workflow` on its /api/v1 routes; /v1 callers get their own prefix.
    const base = req.url.startsWith('/api/v1/') ? '/triggers' : '/v1/triggers';
    return this.forward<TriggerStatusView>(id, '', principal.teamId, { details_base: base });
  }

  @Get(':id/workflow')
  @ApiOperation({ summary: 'Per scenario and action: matched, or why not (filtered, cooldown, paused, no_target), and where each delivery stands' })
  @ZodAnswer(200, triggerWorkflowView)
  async workflow(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<TriggerWorkflowView & { contact: JsonMap | null }> {
    const [workflow, contact] = await Promise.all([
      this.forward<TriggerWorkflowView>(id, '/workflow', principal.teamId),
      this.triggers.resolvedContact(principal.teamId, id),
    ]);
    return { id: workflow.id, status: workflow.status, contact, scenarios: workflow.scenarios, subscriptions: workflow.subscriptions };
  }

  private forward<T>(id: string, suffix: string, teamId: string, extra: Record<string, string> = {}): Promise<T> {
    const params = new URLSearchParams({ team_id: teamId, ...extra });
    // The history service answers 404 TRIGGER_NOT_FOUND for an event it does not hold.
    return getFromHistory<T>(
      { url: this.config.RELAY_HISTORY_URL, token: this.config.RELAY_HISTORY_TOKEN },
      `/internal/v1/triggers/${encodeURIComponent(id)}${suffix}?${params.toString()}`,
      5000,
    );
  }
}
