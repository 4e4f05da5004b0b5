import { Body, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiHeader, ApiOperation } from '@nestjs/swagger';
import { EventTypeCache, type ApiKeyPrincipal } from '@relay/control-plane';
import { SENDMATOR_PATHS, validateTriggerPayload } from '@relay/event-schema';
import { RelayMetrics } from '@relay/observability';
import { Principal } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { DocBody, ZodAnswer } from '@relay/http-api';
import { sendAnswer } from '../http/answers';
import { eventNameSchema, jsonObject, readSendBody, sendmatorBody, triggerAtSchema } from './sendmator-body';
import { RateLimited } from '../rate-limit/rate-limit.guard';
import type { EventEnvelope } from '@relay/contracts';
import { IngestService, toEnvelope, type EnvelopeExtras } from './ingest.service';
import { TeamRoutes } from '../http/routes';

export interface SendResponse {
  success: true;
  trigger_id: string;
  job_id: string;
  message: string;
  scheduled_for?: string;
}

/**
 * Seed 003's asynchronous send, field for field: an emitter written against that API
 * works by changing only the host. Errors follow its table (401 Unauthorized / Invalid
 * team context, 400 Event name is required / Invalid trigger_at format / trigger_at must
 * be a future date, 404 Event type not found) with `{statusCode, message, error}` bodies
 * (plus Relay's `code` and `errors`). Payload checks against the event type are Relay's
 * own: every reason at once.
 *
 * Mapping to the canonical envelope: event_name → code_name; user_info.contact_external_id
 * → contact.id (and external_id); email, phone → contact; name, custom_fields → contact
 * profile (not schema-checked); event_data → customData; variables, source, trigger_at as
 * they are.
 */
@TeamRoutes('ingestion', 'api/v1/events', { teamHeader: true })
export class SendmatorController {
  constructor(
    @Inject(EventTypeCache) private readonly eventTypes: EventTypeCache,
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
  ) {}

  @Post('send')
  @RateLimited()
  @HttpCode(201)
  @ApiOperation({ summary: 'Send an event (asynchronous): 201 with trigger_id once durably queued' })
  @DocBody(sendmatorBody)
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ZodAnswer(201, sendAnswer)
  async send(
    @Principal() principal: ApiKeyPrincipal,
    @Headers('x-team-id') teamHeader: string | undefined,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<SendResponse> {
    const { envelope, targetKey, triggerAt } = await prepareSend(principal, teamHeader, body, idempotencyKey ?? null, this.eventTypes, (outcome) =>
      this.metrics.ingested.inc({ dialect: 'sendmator', outcome }),
    );
    const { eventId } = await this.ingest.accept(envelope, targetKey);
    if (triggerAt) {
      const iso = triggerAt.toISOString();
      return { success: true, trigger_id: eventId, job_id: eventId, message: `Event scheduled for ${iso}`, scheduled_for: iso };
    }
    return { success: true, trigger_id: eventId, job_id: eventId, message: 'Event queued successfully' };
  }
}

export interface PreparedSend {
  envelope: EventEnvelope;
  targetKey: string;
  triggerAt: Date | null;
}

/**
 * Seed 003's request checks and mapping, shared by the asynchronous send and the
 * synchronous dry run (`POST /api/v1/events/trigger`) so both accept exactly the same
 * bodies. Throws ApiError with seed 003's codes; `onRefused` counts refusals.
 */
export async function prepareSend(
  principal: ApiKeyPrincipal,
  teamHeader: string | undefined,
  body: unknown,
  idempotencyKey: string | null,
  eventTypes: EventTypeCache,
  onRefused: (outcome: 'unknown_event_type' | 'invalid') => void = () => undefined,
): Promise<PreparedSend> {
  if (!teamHeader || teamHeader.trim() !== principal.teamId) {
    throw new ApiError('INVALID_TEAM_CONTEXT', ['Invalid team context']);
  }
  const object = jsonObject.safeParse(body);
  if (!object.success) throw ApiError.badRequest(['Request body must be a JSON object']);
  const named = eventNameSchema.safeParse(object.data.event_name);
  if (!named.success) throw new ApiError('EVENT_NAME_REQUIRED', ['Event name is required']);
  const eventName = named.data;
  const at = triggerAtSchema.safeParse(object.data.trigger_at);
  if (!at.success) throw new ApiError('INVALID_TRIGGER_AT', ['Invalid trigger_at format']);
  const triggerAt = at.data ? new Date(at.data) : null;
  if (triggerAt && triggerAt.getTime() <= Date.now()) throw new ApiError('TRIGGER_AT_IN_PAST', ['trigger_at must be a future date']);

  const eventType = await eventTypes.get(principal.teamId, eventName, principal.changeSeq);
  if (!eventType) {
    onRefused('unknown_event_type');
    throw new ApiError('EVENT_TYPE_NOT_FOUND', ['Event type not found']);
  }

  // The shape's reasons and the payload's, all at once.
  const { value: send, errors } = readSendBody(body);
  const userInfo = send.user_info ?? {};
  const externalId = userInfo.contact_external_id ?? null;
  const sourceRecord = send.source ? { type: send.source.type ?? null, ip: send.source.ip ?? null, user_agent: send.source.user_agent ?? null } : null;

  const contact: Record<string, unknown> = {};
  if (externalId !== null) contact.id = externalId;
  if (userInfo.email !== undefined) contact.email = userInfo.email;
  if (userInfo.phone !== undefined) contact.phone = userInfo.phone;
  const triggerBody: Record<string, unknown> = {};
  if (Object.keys(contact).length > 0) triggerBody.contact = contact;
  if (send.event_data !== undefined) triggerBody.customData = send.event_data;

  // Messages name the fields as the emitter sent them (event_data.x, user_info.email).
  const result = validateTriggerPayload(eventType, triggerBody, { pathNames: SENDMATOR_PATHS });
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0 || !result.ok) {
    onRefused('invalid');
    throw ApiError.badRequest(errors);
  }

  const extras: EnvelopeExtras = {
    externalId,
    name: userInfo.name ?? null,
    attributes: userInfo.custom_fields ?? null,
    variables: send.variables ?? null,
    source: sourceRecord,
    triggerAt: triggerAt?.getTime() ?? null,
    schemaVersion: eventType.version,
  };
  const envelope = toEnvelope(principal, eventName, 'sendmator', result.value, idempotencyKey, extras);
  return { envelope, targetKey: result.value.targetKey, triggerAt };
}
