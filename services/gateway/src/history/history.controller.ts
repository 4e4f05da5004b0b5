import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { ApiKeyGuard, Principal } from '../auth/api-key.guard';
import { CONFIG, type Config } from '../tokens';
import { getFromHistory } from './history-api';

const FORWARDED = ['code_name', 'status', 'contact_id', 'contact_email', 'contact_phone', 'visitor_id', 'environment', 'from', 'to', 'limit', 'cursor'];

/**
 * Seed 000's listEventHistories. The history service owns the store (embedded ClickHouse
 * is one process per data directory), so the gateway — the one public base URL —
 * forwards the query with the caller's team.
 */
@ApiTags('history')
@UseGuards(ApiKeyGuard)
@Controller('v1/event-histories')
export class HistoryController {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  @Get()
  @ApiOperation({ summary: 'listEventHistories: newest first, cursor-paginated' })
  async list(@Principal() principal: ApiKeyPrincipal, @Query() query: Record<string, string>): Promise<unknown> {
    const params = new URLSearchParams({ team_id: principal.teamId });
    for (const key of FORWARDED) {
      const value = query[key];
      if (typeof value === 'string') params.set(key, value);
    }
    return this.forward(`/internal/v1/event-histories?${params.toString()}`);
  }

  @Get(':event_id')
  @ApiOperation({ summary: 'One event of the history' })
  async get(@Principal() principal: ApiKeyPrincipal, @Param('event_id') eventId: string): Promise<unknown> {
    const params = new URLSearchParams({ team_id: principal.teamId });
    return this.forward(`/internal/v1/event-histories/${encodeURIComponent(eventId)}?${params.toString()}`);
  }

  private forward(path: string): Promise<unknown> {
    return getFromHistory({ url: this.config.RELAY_HISTORY_URL, token: this.config.RELAY_HISTORY_TOKEN }, path);
  }
}
