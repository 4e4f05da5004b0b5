import { Get, Inject, Param } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { Principal } from '../auth/api-key.guard';
import { CONFIG, type Config } from '../tokens';
import { getFromHistory } from './history-api';
import { ZodAnswer, ZodQuery } from '@relay/http-api';
import { historyFiltersQuery, type HistoryFiltersQuery } from '@relay/history-store';
import { historyEvent, historyPage } from '../http/answers';
import { TeamRoutes } from '../http/routes';

/**
 * Seed 000's listEventHistories. The history service owns the store (embedded ClickHouse
 * is one process per data directory), so the gateway — the one public base URL —
 * forwards the query with the caller's team.
 */
@TeamRoutes('history', 'v1/event-histories')
export class HistoryController {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  @Get()
  @ApiOperation({ summary: 'listEventHistories: newest first, cursor-paginated' })
  @ZodAnswer(200, historyPage)
  async list(@Principal() principal: ApiKeyPrincipal, @ZodQuery(historyFiltersQuery) query: HistoryFiltersQuery): Promise<unknown> {
    const params = new URLSearchParams({ team_id: principal.teamId });
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return this.forward(`/internal/v1/event-histories?${params.toString()}`);
  }

  @Get(':event_id')
  @ApiOperation({ summary: 'One event of the history, with its scenario runs and deliveries' })
  @ZodAnswer(200, historyEvent)
  async get(@Principal() principal: ApiKeyPrincipal, @Param('event_id') eventId: string): Promise<unknown> {
    const params = new URLSearchParams({ team_id: principal.teamId });
    return this.forward(`/internal/v1/event-histories/${encodeURIComponent(eventId)}?${params.toString()}`);
  }

  private forward(path: string): Promise<unknown> {
    return getFromHistory({ url: this.config.RELAY_HISTORY_URL, token: this.config.RELAY_HISTORY_TOKEN }, path);
  }
}
