import { Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import {
  UrlPolicyError,
  WebhookActivityRepository,
  WebhookEndpointsRepository,
  assertDeliverableUrl,
  endpointCreateSchema,
  endpointPatchSchema,
  withDefaults,
  type AttemptView,
  type EndpointCreateBody,
  type EndpointPatchBody,
  type WebhookEndpoint,
} from '@relay/webhooks';
import { Principal } from '../auth/api-key.guard';
import { z } from 'zod';
import { ZodAnswer, ZodBody, ZodQuery, limitParam, pageQuery, type PageQuery } from '@relay/http-api';
import { attemptView, dataAnswer, okAnswer, pageAnswer, replayAnswer, timestamp } from '../http/answers';
import { ApiError } from '../http/api-error';
import { WEBHOOKS_OPTIONS, type WebhooksOptions } from './webhooks.tokens';
import { TeamRoutes } from '../http/routes';

const isoDate = (field: string) => z.iso.datetime({ offset: true, error: `${field} must be an ISO 8601 date-time` });

const rotateSecretSchema = z
  .strictObject({
    overlap_seconds: z
      .number({ error: 'overlap_seconds must be an integer between 0 and 604800' })
      .int('overlap_seconds must be an integer between 0 and 604800')
      .min(0, 'overlap_seconds must be an integer between 0 and 604800')
      .max(7 * 24 * 3600, 'overlap_seconds must be an integer between 0 and 604800')
      .default(24 * 3600)
      .describe('how long the previous secret keeps signing (default one day)'),
  })
  .meta({ example: { overlap_seconds: 3600 } });

/** One dead delivery by id, or every delivery that died in [from, to). */
const replaySchema = z
  .union(
    [
      z.strictObject({ delivery_id: z.string().min(1) }),
      z
        .strictObject({ from: isoDate('from'), to: isoDate('to').optional() })
        .refine((b) => Date.parse(b.from) < (b.to === undefined ? Date.now() : Date.parse(b.to)), 'from must be before to'),
    ],
    { error: 'give "delivery_id", or "from" (and optionally "to") as ISO dates with from < to' },
  )
  .meta({ example: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' } });

const attemptsQuery = z.object({
  limit: limitParam(500, 50),
  before: isoDate('before').optional().describe('only attempts before this instant'),
  delivery_id: z.string().min(1).optional(),
});

const endpointView = z.object({
  id: z.string(),
  team_id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  contact_fields: z.array(z.string()),
  batch: z.object({ max_events: z.number().int(), max_wait_ms: z.number().int() }).nullable(),
  environment: z.enum(['production', 'staging']),
  signature: z.enum(['standard', 'shopimind']),
  success_contract: z.enum(['2xx', 'strict']),
  status: z.enum(['enabled', 'disabled', 'auto-disabled']),
  timeout_ms: z.number().int(),
  max_concurrency: z.number().int(),
  rate_limit: z.object({ requests: z.number().int(), per: z.string() }).nullable(),
  disabled_reason: z.string().nullable(),
  last_success_at: timestamp.nullable(),
  last_failure_at: timestamp.nullable(),
  secret_rotation_ends_at: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});
/** Create and rotation: the endpoint under `data`, the signing secret beside it (shown only here). */
const withSecret = dataAnswer(endpointView).extend({ secret: z.string().meta({ example: 'whsec_…' }) });

const notFound = (id: string) => ApiError.notFound('WEBHOOK_NOT_FOUND', `Webhook endpoint not found: ${id}`);

/** Seed 004's subscriptions as `/v1/webhooks`, team-scoped (another team's id is a 404). */
@TeamRoutes('webhooks', 'v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WebhookEndpointsRepository) private readonly repo: WebhookEndpointsRepository,
    @Inject(WebhookActivityRepository) private readonly activity: WebhookActivityRepository,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: WebhooksOptions,
  ) {}

  /** Refuses non-http(s) URLs and hosts resolving to private/loopback/link-local/metadata addresses (unless allowed by exact host:port). */
  private async checkUrl(url: string): Promise<void> {
    try {
      await assertDeliverableUrl(url, this.options.targets);
    } catch (error) {
      if (error instanceof UrlPolicyError) throw ApiError.badRequest([error.message], 'INVALID_WEBHOOK_URL');
      throw error;
    }
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an endpoint; the signing secret is returned only here and on rotation' })
  @ZodAnswer(201, withSecret)
  // One shape, the rotation's and get's: the endpoint under `data`, the signing secret beside it.
  async create(
    @Principal() principal: ApiKeyPrincipal,
    @ZodBody(endpointCreateSchema) body: EndpointCreateBody,
  ): Promise<{ success: true; data: WebhookEndpoint; secret: string }> {
    const input = withDefaults(body, { environment: principal.environment, timeoutMs: this.options.defaultTimeoutMs });
    await this.checkUrl(input.url);
    const { endpoint, secret } = await this.repo.create(principal.teamId, input);
    return { success: true, data: endpoint, secret };
  }

  @Get()
  @ApiOperation({ summary: 'List the team’s endpoints, newest first' })
  @ZodAnswer(200, pageAnswer(endpointView))
  async list(
    @Principal() principal: ApiKeyPrincipal,
    @ZodQuery(pageQuery(200, 50)) { limit, cursor }: PageQuery,
  ): Promise<{ success: true; data: WebhookEndpoint[]; next_cursor: string | null }> {
    const page = await this.repo.list(principal.teamId, limit, cursor);
    return { success: true, ...page };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One endpoint (never its secret)' })
  @ZodAnswer(200, dataAnswer(endpointView))
  async get(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true; data: WebhookEndpoint }> {
    const found = await this.repo.get(principal.teamId, id);
    if (!found) throw notFound(id);
    return { success: true, data: found };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an endpoint; status enabled|disabled (re-enabling clears auto-disabled)' })
  @ZodAnswer(200, dataAnswer(endpointView))
  async update(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @ZodBody(endpointPatchSchema) patch: EndpointPatchBody,
  ): Promise<{ success: true; data: WebhookEndpoint }> {
    if (patch.url !== undefined) await this.checkUrl(patch.url);
    const updated = await this.repo.update(principal.teamId, id, patch);
    if (!updated) throw notFound(id);
    return { success: true, data: updated };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete an endpoint; its pending deliveries fail with ENDPOINT_NOT_FOUND' })
  @ZodAnswer(200, okAnswer)
  async remove(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true }> {
    if (!(await this.repo.delete(principal.teamId, id))) throw notFound(id);
    return { success: true };
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'New signing secret (shown once); the previous one keeps signing during the overlap' })
  @ZodAnswer(200, withSecret)
  async rotate(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @ZodBody(rotateSecretSchema) { overlap_seconds: overlapSeconds }: z.output<typeof rotateSecretSchema>,
  ): Promise<{ success: true; data: WebhookEndpoint; secret: string }> {
    const rotated = await this.repo.rotateSecret(principal.teamId, id, overlapSeconds * 1000);
    if (!rotated) throw notFound(id);
    return { success: true, data: rotated.endpoint, secret: rotated.secret };
  }

  @Get(':id/attempts')
  @ApiOperation({ summary: 'HTTP attempts of the endpoint, newest first (status, latency, error, first bytes of the response)' })
  @ZodAnswer(200, dataAnswer(z.array(attemptView)))
  async attempts(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @ZodQuery(attemptsQuery) { limit, before, delivery_id: deliveryId }: z.output<typeof attemptsQuery>,
  ): Promise<{ success: true; data: AttemptView[] }> {
    if (!(await this.repo.get(principal.teamId, id))) throw notFound(id);
    return { success: true, data: await this.activity.attempts(id, limit, before, deliveryId) };
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay one dead delivery ({"delivery_id"}) or all that died in a range ({"from", "to"})' })
  @ZodAnswer(202, replayAnswer)
  async replay(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @ZodBody(replaySchema) body: z.output<typeof replaySchema>,
  ): Promise<{ success: true; replayed: string[] }> {
    if (!(await this.repo.get(principal.teamId, id))) throw notFound(id);
    if ('delivery_id' in body) {
      const replayed = await this.activity.replay(id, { deliveryId: body.delivery_id });
      if (replayed.length === 0) throw ApiError.notFound('DELIVERY_NOT_FOUND', `No failed delivery ${body.delivery_id} for this endpoint`);
      return { success: true, replayed };
    }
    const to = body.to === undefined ? new Date() : new Date(body.to);
    return { success: true, replayed: await this.activity.replay(id, { from: new Date(body.from), to }) };
  }
}
