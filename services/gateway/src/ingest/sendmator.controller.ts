import { Body, Controller, Headers, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EventTypeCache, type ApiKeyPrincipal } from '@relay/control-plane';
import { SENDMATOR_PATHS, validateTriggerPayload } from '@relay/event-schema';
import { RelayMetrics } from '@relay/observability';
import { ApiKeyGuard, Principal } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { DocBody, ZodAnswer } from '@relay/http-api';
import { sendAnswer, sendmatorBody } from '../http/answers';
import { RateLimited } from '../rate-limit/rate-limit.guard';
import type { EventEnvelope } from '@relay/contracts';
import { IngestService, toEnvelope, type EnvelopeExtras } from './ingest.service';

const KNOWN_FIELDS = new Set(['event_name', 'user_info', 'source', 'event_data', 'variables', 'trigger_at']);
const USER_INFO_FIELDS = new Set(['contact_external_id', 'email', 'phone', 'name', 'custom_fields']);
const SOURCE_FIELDS = new Set(['type', 'ip', 'user_agent']);
/** ISO 8601 date-time with an explicit zone; a bare date or local time is ambiguous for scheduling. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

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
@ApiTags('ingestion')
@ApiHeader({ name: 'X-Team-ID', required: true })
@UseGuards(ApiKeyGuard)
@Controller('api/v1/events')
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
  if (!isObject(body)) throw ApiError.badRequest(['Request body must be a JSON object']);
  const eventName = body.event_name;
  if (typeof eventName !== 'string' || eventName.trim() === '') {
    throw new ApiError('EVENT_NAME_REQUIRED', ['Event name is required']);
  }
  const triggerAt = parseTriggerAt(body.trigger_at);

  const eventType = await eventTypes.get(principal.teamId, eventName, principal.changeSeq);
  if (!eventType) {
    onRefused('unknown_event_type');
    throw new ApiError('EVENT_TYPE_NOT_FOUND', ['Event type not found']);
  }

  const errors: string[] = [];
  for (const key of Object.keys(body)) if (!KNOWN_FIELDS.has(key)) errors.push(`Unknown property: ${key}`);
  const userInfo = objectField(body, 'user_info', errors) ?? {};
  for (const key of Object.keys(userInfo)) if (!USER_INFO_FIELDS.has(key)) errors.push(`Unknown property: user_info.${key}`);
  const source = objectField(body, 'source', errors);
  for (const key of Object.keys(source ?? {})) if (!SOURCE_FIELDS.has(key)) errors.push(`Unknown property: source.${key}`);
  const variables = objectField(body, 'variables', errors);
  const customFields = objectField(userInfo, 'custom_fields', errors, 'user_info.');
  const name = stringField(userInfo, 'name', errors, 'user_info.');
  const externalId = stringField(userInfo, 'contact_external_id', errors, 'user_info.');
  const sourceRecord = source
    ? {
        type: stringField(source, 'type', errors, 'source.'),
        ip: stringField(source, 'ip', errors, 'source.'),
        user_agent: stringField(source, 'user_agent', errors, 'source.'),
      }
    : null;

  const contact: Record<string, unknown> = {};
  if (externalId !== null) contact.id = externalId;
  if (userInfo.email !== undefined) contact.email = userInfo.email;
  if (userInfo.phone !== undefined) contact.phone = userInfo.phone;
  const triggerBody: Record<string, unknown> = {};
  if (Object.keys(contact).length > 0) triggerBody.contact = contact;
  if (body.event_data !== undefined) triggerBody.customData = body.event_data;

  // Messages name the fields as the emitter sent them (event_data.x, user_info.email).
  const result = validateTriggerPayload(eventType, triggerBody, { pathNames: SENDMATOR_PATHS });
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0 || !result.ok) {
    onRefused('invalid');
    throw ApiError.badRequest(errors);
  }

  const extras: EnvelopeExtras = {
    externalId,
    name,
    attributes: customFields,
    variables,
    source: sourceRecord,
    triggerAt: triggerAt?.getTime() ?? null,
    schemaVersion: eventType.version,
  };
  const envelope = toEnvelope(principal, eventName, 'sendmator', result.value, idempotencyKey, extras);
  return { envelope, targetKey: result.value.targetKey, triggerAt };
}

function parseTriggerAt(value: unknown): Date | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new ApiError('INVALID_TRIGGER_AT', ['Invalid trigger_at format']);
  }
  const at = new Date(value);
  if (at.getTime() <= Date.now()) throw new ApiError('TRIGGER_AT_IN_PAST', ['trigger_at must be a future date']);
  return at;
}

function objectField(
  container: Record<string, unknown>,
  key: string,
  errors: string[],
  prefix = '',
): Record<string, unknown> | null {
  const value = container[key];
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    errors.push(`Invalid type for property: ${prefix}${key}. Expected object, got ${Array.isArray(value) ? 'array' : typeof value}`);
    return null;
  }
  return value;
}

function stringField(container: Record<string, unknown>, key: string, errors: string[], prefix = ''): string | null {
  const value = container[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 255) {
    errors.push(`Invalid type for property: ${prefix}${key}. Expected text, got ${typeof value === 'string' ? 'longer text' : typeof value}`);
    return null;
  }
  return value;
}
