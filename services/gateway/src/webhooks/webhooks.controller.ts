import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import {
  UrlPolicyError,
  WebhookActivityRepository,
  WebhookEndpointsRepository,
  assertDeliverableUrl,
  parseEndpointInput,
  type AttemptView,
  type EndpointInput,
  type WebhookEndpoint,
} from '@relay/webhooks';
import { ApiKeyGuard, Principal } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { WEBHOOKS_OPTIONS, type WebhooksOptions } from './webhooks.tokens';

const notFound = (id: string) => ApiError.notFound('WEBHOOK_NOT_FOUND', `Webhook endpoint not found: ${id}`);

/** Seed 004's subscriptions as `/v1/webhooks`, team-scoped (another team's id is a 404). */
@ApiTags('webhooks')
@ApiHeader({ name: 'X-API-Key', required: true, description: 'Also accepted: Authorization: Bearer <key>, spm-api-key' })
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WebhookEndpointsRepository) private readonly repo: WebhookEndpointsRepository,
    @Inject(WebhookActivityRepository) private readonly activity: WebhookActivityRepository,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: WebhooksOptions,
  ) {}

  /** Refuses non-http(s) URLs and hosts resolving to private/loopback/link-local/metadata addresses. */
  private async checkUrl(url: string): Promise<void> {
    try {
      await assertDeliverableUrl(url, this.options.allowLoopback);
    } catch (error) {
      if (error instanceof UrlPolicyError) throw ApiError.badRequest([error.message], 'INVALID_WEBHOOK_URL');
      throw error;
    }
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an endpoint; the signing secret is returned only here and on rotation' })
  // One shape, the rotation's: the endpoint under `data`, the signing secret beside it (seed 004 does not fix this answer).
  async create(@Principal() principal: ApiKeyPrincipal, @Body() body: unknown): Promise<{ success: true; data: WebhookEndpoint; secret: string }> {
    const parsed = parseEndpointInput(body, false, { environment: principal.environment, timeoutMs: this.options.defaultTimeoutMs });
    if (!parsed.ok) throw ApiError.badRequest(parsed.errors);
    await this.checkUrl(parsed.value.url as string);
    const { endpoint, secret } = await this.repo.create(principal.teamId, parsed.value as EndpointInput);
    return { success: true, data: endpoint, secret };
  }

  @Get()
  @ApiOperation({ summary: 'List the team’s endpoints, newest first' })
  async list(
    @Principal() principal: ApiKeyPrincipal,
    @Query('limit') limitText?: string,
    @Query('cursor') cursor?: string,
  ): Promise<{ success: true; data: WebhookEndpoint[]; next_cursor: string | null }> {
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw ApiError.badRequest(['limit must be an integer between 1 and 200'], 'INVALID_QUERY');
    const page = await this.repo.list(principal.teamId, limit, cursor);
    return { success: true, ...page };
  }

  @Get(':id')
  async get(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true; data: WebhookEndpoint }> {
    const found = await this.repo.get(principal.teamId, id);
    if (!found) throw notFound(id);
    return { success: true, data: found };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an endpoint; status enabled|disabled (re-enabling clears auto-disabled)' })
  async update(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string, @Body() body: unknown): Promise<{ success: true; data: WebhookEndpoint }> {
    const parsed = parseEndpointInput(body, true, { environment: principal.environment, timeoutMs: this.options.defaultTimeoutMs });
    if (!parsed.ok) throw ApiError.badRequest(parsed.errors);
    if (parsed.value.url !== undefined) await this.checkUrl(parsed.value.url);
    const updated = await this.repo.update(principal.teamId, id, parsed.value);
    if (!updated) throw notFound(id);
    return { success: true, data: updated };
  }

  @Delete(':id')
  async remove(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true }> {
    if (!(await this.repo.delete(principal.teamId, id))) throw notFound(id);
    return { success: true };
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'New signing secret (shown once); the previous one keeps signing during the overlap' })
  async rotate(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<{ success: true; data: WebhookEndpoint; secret: string }> {
    const raw = (body as { overlap_seconds?: unknown } | null)?.overlap_seconds;
    const overlapSeconds = raw === undefined ? 24 * 3600 : raw;
    if (!Number.isInteger(overlapSeconds) || (overlapSeconds as number) < 0 || (overlapSeconds as number) > 7 * 24 * 3600) {
      throw ApiError.badRequest(['overlap_seconds must be an integer between 0 and 604800']);
    }
    const rotated = await this.repo.rotateSecret(principal.teamId, id, (overlapSeconds as number) * 1000);
    if (!rotated) throw notFound(id);
    return { success: true, data: rotated.endpoint, secret: rotated.secret };
  }

  @Get(':id/attempts')
  @ApiOperation({ summary: 'HTTP attempts of the endpoint, newest first (status, latency, error, first bytes of the response)' })
  async attempts(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @Query('limit') limitText?: string,
    @Query('before') before?: string,
    @Query('delivery_id') deliveryId?: string,
  ): Promise<{ success: true; data: AttemptView[] }> {
    if (!(await this.repo.get(principal.teamId, id))) throw notFound(id);
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw ApiError.badRequest(['limit must be an integer between 1 and 500'], 'INVALID_QUERY');
    if (before !== undefined && Number.isNaN(Date.parse(before))) throw ApiError.badRequest(['before must be an ISO date'], 'INVALID_QUERY');
    return { success: true, data: await this.activity.attempts(id, limit, before, deliveryId) };
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay one dead delivery ({"delivery_id"}) or all that died in a range ({"from", "to"})' })
  async replay(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string, @Body() body: unknown): Promise<{ success: true; replayed: string[] }> {
    if (!(await this.repo.get(principal.teamId, id))) throw notFound(id);
    const b = (typeof body === 'object' && body !== null ? body : {}) as { delivery_id?: unknown; from?: unknown; to?: unknown };
    if (typeof b.delivery_id === 'string') {
      const replayed = await this.activity.replay(id, { deliveryId: b.delivery_id });
      if (replayed.length === 0) throw ApiError.notFound('DELIVERY_NOT_FOUND', `No failed delivery ${b.delivery_id} for this endpoint`);
      return { success: true, replayed };
    }
    const from = typeof b.from === 'string' ? Date.parse(b.from) : NaN;
    const to = typeof b.to === 'string' ? Date.parse(b.to) : Date.now();
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
      throw ApiError.badRequest(['give "delivery_id", or "from" (and optionally "to") as ISO dates with from < to']);
    }
    return { success: true, replayed: await this.activity.replay(id, { from: new Date(from), to: new Date(to) }) };
  }
}
