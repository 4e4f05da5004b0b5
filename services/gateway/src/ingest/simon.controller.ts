import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeysRepository, EventTypeCache, IdentityLinksRepository, type ApiKeyPrincipal } from '@relay/control-plane';
import { SIMON_PATHS, validateTriggerPayload, type NormalizedEvent } from '@relay/event-schema';
import { RelayMetrics } from '@relay/observability';
import { ApiError } from '../http/api-error';
import { DocBody, ZodAnswer } from '@relay/http-api';
import { collectAnswer } from '../http/answers';
import { identifySchema, readCollectBody, simonBody, type CollectBody } from './simon-body';
import { jsonObject, seedMessages } from './sendmator-body';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { IngestService, rawEnvelope, toEnvelope, type EnvelopeExtras } from './ingest.service';

interface Problem {
  code: 'INVALID_PAYLOAD' | 'UNKNOWN_EVENT_TYPE' | 'IDENTITY_REQUIRED';
  errors: string[];
}

/**
 * Seed 002's collect endpoint (Simon-style): credentials in the body (partnerId = team
 * id, partnerSecret = API key), `type` track or identify, custom events only.
 *
 * - identify links `clientId` to `traits.email` for 7 days.
 * - track maps onto the canonical envelope: properties.eventName → code_name,
 *   properties.properties → customData, traits.userId → contact.id, traits.email →
 *   contact.email (else the email of a live identify link of clientId), clientId →
 *   client_id (and visitor.id when the event type targets visitors), sentAt → occurred_at.
 * - requiresIdentity (default true): no email and no live link → rejected, reason
 *   "identity required".
 * - A payload that breaks the schema answers 412 with the reasons when context.debug is
 *   true (as the vendor does); otherwise 200, and the event is recorded as rejected with
 *   its reasons (rejected topic → history): never dropped silently.
 */
@ApiTags('ingestion')
@Controller('http/v1')
export class SimonController {
  constructor(
    @Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository,
    @Inject(EventTypeCache) private readonly eventTypes: EventTypeCache,
    @Inject(IdentityLinksRepository) private readonly links: IdentityLinksRepository,
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
    @Inject(RateLimitService) private readonly rateLimits: RateLimitService,
  ) {}

  @Post('collect')
  @HttpCode(200)
  @ApiOperation({ summary: 'Collect a track or identify call (Simon-style body; partnerId and partnerSecret authenticate)' })
  @DocBody(simonBody)
  @ZodAnswer(200, collectAnswer)
  async collect(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<Record<string, unknown>> {
    const object = jsonObject.safeParse(body);
    if (!object.success) throw ApiError.badRequest(['Request body must be a JSON object']);
    const { value, unknown } = readCollectBody(object.data);
    const principal = await this.authenticate(value);
    // The key is in the body, so @RateLimited() (a guard, before the body is read) cannot
    // apply: same limits, headers and 429 as the other ingestion routes, track and identify alike.
    await this.rateLimits.enforce(principal, request, reply);
    const debug = value.context?.debug === true;

    if (value.type === 'identify') return this.identify(principal, value);
    if (value.type !== 'track') throw ApiError.badRequest([`type must be "track" or "identify"`], 'INVALID_TYPE');

    const properties = value.properties;
    const codeName = properties?.eventName ?? '';
    const traits = value.traits ?? {};
    const clientId = value.clientId ?? null;
    const requiresIdentity = properties?.requiresIdentity !== false;
    const extras: EnvelopeExtras = {
      clientId,
      requiresIdentity,
      occurredAt: typeof value.sentAt === 'number' && Number.isFinite(value.sentAt) ? value.sentAt : null,
    };

    const contact: Record<string, unknown> = {};
    if (traits.userId !== undefined) contact.id = traits.userId;
    if (traits.email !== undefined) contact.email = traits.email;
    if (contact.email === undefined && clientId) {
      const linked = (await this.links.resolve(principal.teamId, [clientId])).get(clientId);
      if (linked) contact.email = linked;
    }
    const triggerBody: Record<string, unknown> = {};
    if (Object.keys(contact).length > 0) triggerBody.contact = contact;
    if (properties?.properties !== undefined) triggerBody.customData = properties.properties;

    const checked = await this.check(principal, value, unknown, codeName, triggerBody, clientId, requiresIdentity);
    if ('code' in checked) {
      const problem = checked;
      this.metrics.ingested.inc({ dialect: 'simon', outcome: 'invalid' });
      if (debug) throw new ApiError(problem.code, problem.errors, problem.errors.join('; '));
      const envelope = rawEnvelope(principal, codeName || '(none)', 'simon', triggerBody, extras);
      await this.ingest.reject(envelope, problem.code, problem.errors);
      return { success: true, event_id: envelope.event_id, status: 'rejected', errors: problem.errors };
    }
    const envelope = toEnvelope(principal, codeName, 'simon', checked.event, null, { ...extras, schemaVersion: checked.version });
    const { eventId } = await this.ingest.accept(envelope, checked.event.targetKey);
    return { success: true, event_id: eventId };
  }

  /** The validated event, or every reason the track call cannot be accepted. */
  private async check(
    principal: ApiKeyPrincipal,
    body: CollectBody,
    unknown: string[],
    codeName: string,
    triggerBody: Record<string, unknown>,
    clientId: string | null,
    requiresIdentity: boolean,
  ): Promise<Problem | { event: NormalizedEvent; version: number }> {
    const errors = [...unknown];
    if (body.event !== 'custom') errors.push('event must be "custom" (only custom events are supported)');
    if (!codeName) errors.push('Missing required property: properties.eventName');
    if (errors.length > 0) return { code: 'INVALID_PAYLOAD', errors };
    const eventType = await this.eventTypes.get(principal.teamId, codeName, principal.changeSeq);
    if (!eventType) return { code: 'UNKNOWN_EVENT_TYPE', errors: [`Event type not found: ${codeName}`] };
    const contact = triggerBody.contact as Record<string, unknown> | undefined;
    if (requiresIdentity && contact?.email === undefined) {
      return { code: 'IDENTITY_REQUIRED', errors: ['identity required: no traits.email and no live identify link for clientId'] };
    }
    // Messages name the fields as the emitter sent them (properties.properties.x, traits.email).
    const result = validateTriggerPayload(eventType, this.withVisitor(triggerBody, eventType.target, clientId), {
      pathNames: SIMON_PATHS,
    });
    if (!result.ok) return { code: 'INVALID_PAYLOAD', errors: result.errors };
    return { event: result.value, version: eventType.version };
  }

  /** clientId doubles as the visitor id when the event type can target visitors. */
  private withVisitor(body: Record<string, unknown>, target: string, clientId: string | null): Record<string, unknown> {
    return clientId && target !== 'contact' ? { ...body, visitor: { id: clientId } } : body;
  }

  private async identify(principal: ApiKeyPrincipal, body: CollectBody): Promise<Record<string, unknown>> {
    const parsed = identifySchema.safeParse({ clientId: body.clientId, email: body.traits?.email ?? '', userId: body.traits?.userId });
    if (!parsed.success) throw ApiError.badRequest(seedMessages(parsed.error));
    const { clientId, email, userId } = parsed.data;
    const { expiresAt } = await this.links.link(principal.teamId, clientId, email, userId);
    this.metrics.ingested.inc({ dialect: 'simon', outcome: 'identify' });
    return { success: true, client_id: clientId, email, expires_at: expiresAt };
  }

  /** partnerSecret is the API key; partnerId must be the key's team. */
  private async authenticate(body: CollectBody): Promise<ApiKeyPrincipal> {
    const secret = body.partnerSecret;
    const principal = secret ? await this.keys.verify(secret) : null;
    if (!principal) throw ApiError.unauthorized('Invalid or missing partnerSecret');
    if (body.partnerId !== principal.teamId) throw new ApiError('INVALID_TEAM_CONTEXT', ['partnerId does not match the key']);
    return principal;
  }
}
