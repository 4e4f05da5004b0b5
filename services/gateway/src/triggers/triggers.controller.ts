import { Controller, Get, Inject, Param, Req, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { TriggersRepository, type TriggerStatus, type TriggerWorkflow } from '@relay/scenarios';
import { ApiKeyGuard, Principal } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { CONFIG, type Config } from '../tokens';

const notFound = (id: string) => ApiError.notFound('TRIGGER_NOT_FOUND', `Trigger not found: ${id}`);

/**
 * Seed 003's trigger tracking, under its own `/api/v1/triggers` and as `/v1/triggers`.
 * The trigger id is the event_id. The matcher writes the trigger row when it has decided
 * (PostgreSQL, with its cooldown claims); before that the event is known only to history,
 * which says whether it is still queued or was rejected.
 */
@ApiTags('triggers')
@ApiHeader({ name: 'X-API-Key', required: true, description: 'Also accepted: Authorization: Bearer <key>, spm-api-key' })
@UseGuards(ApiKeyGuard)
@Controller(['v1/triggers', 'api/v1/triggers'])
export class TriggersController {
  constructor(
    @Inject(TriggersRepository) private readonly triggers: TriggersRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get(':id')
  @ApiOperation({ summary: 'Trigger status and counts (seed 003)' })
  async status(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string, @Req() req: FastifyRequest): Promise<TriggerStatus | Record<string, unknown>> {
    // Seed 003 advertises `/triggers/<id>/workflow` on its /api/v1 routes; /v1 callers get their own prefix.
    const base = req.url.startsWith('/api/v1/') ? '/triggers' : '/v1/triggers';
    const found = await this.triggers.status(principal.teamId, id, base);
    if (found) return found;
    return this.beforeMatch(principal.teamId, id, base);
  }

  @Get(':id/workflow')
  @ApiOperation({ summary: 'Per scenario and action: matched, or why not (filtered, cooldown, paused, no_target)' })
  async workflow(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<TriggerWorkflow> {
    const found = await this.triggers.workflow(principal.teamId, id);
    if (!found) throw notFound(id);
    return found;
  }

  /** An event the matcher has not decided yet: queued, or failed if the validator rejected it. */
  private async beforeMatch(teamId: string, id: string, base: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(
        `${this.config.RELAY_HISTORY_URL}/internal/v1/event-histories/${encodeURIComponent(id)}?team_id=${encodeURIComponent(teamId)}`,
        { signal: AbortSignal.timeout(5000) },
      );
    } catch {
      throw new ApiError(503, 'HISTORY_UNAVAILABLE', ['The history service is unavailable; retry later']);
    }
    if (res.status === 404) throw notFound(id);
    if (!res.ok) throw new ApiError(503, 'HISTORY_UNAVAILABLE', ['The history service is unavailable; retry later']);
    const body = (await res.json()) as { data?: { status?: string; received_at?: string; code_name?: string; errors?: string[] } };
    const rejected = body.data?.status === 'rejected';
    return {
      id,
      flow_type: 'workflow',
      trigger_type: 'event',
      code_name: body.data?.code_name ?? null,
      status: rejected ? 'failed' : 'queued',
      created_at: body.data?.received_at ?? null,
      started_at: null,
      completed_at: null,
      summary: { total_contacts: 0, sent: 0, failed: 0, filtered: 0, scheduled: 0, cancelled: 0 },
      ...(rejected ? { errors: body.data?.errors ?? [] } : {}),
      details_endpoint: `${base}/${id}/workflow`,
    };
  }
}
