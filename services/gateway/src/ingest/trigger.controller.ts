import { Body, Controller, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EventTypeCache, type ApiKeyPrincipal } from '@relay/control-plane';
import { validateTriggerPayload } from '@relay/event-schema';
import { RelayMetrics } from '@relay/observability';
import { Principal } from '../auth/api-key.guard';
import { DocBody, ZodAnswer } from '@relay/http-api';
import { acceptedAnswer, triggerBody } from '../http/answers';
import { ApiError } from '../http/api-error';
import { RateLimited } from '../rate-limit/rate-limit.guard';
import { IngestService, toEnvelope } from './ingest.service';

/** Seed 000's triggerEvent: validate synchronously, queue durably, answer 202. */
@ApiTags('ingestion')
@RateLimited()
@Controller('v1/events/trigger')
export class TriggerController {
  constructor(
    @Inject(EventTypeCache) private readonly eventTypes: EventTypeCache,
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
  ) {}

  @Post(':code_name')
  @HttpCode(202)
  @ApiOperation({ summary: 'triggerEvent: fire an event; 202 once it is durably queued' })
  @DocBody(triggerBody)
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ZodAnswer(202, acceptedAnswer)
  async trigger(
    @Principal() principal: ApiKeyPrincipal,
    @Param('code_name') codeName: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<{ success: true; event_id: string }> {
    const eventType = await this.eventTypes.get(principal.teamId, codeName, principal.changeSeq);
    if (!eventType) {
      this.metrics.ingested.inc({ dialect: 'shopimind', outcome: 'unknown_event_type' });
      throw ApiError.notFound('EVENT_TYPE_NOT_FOUND', `Event type not found: ${codeName}`);
    }
    const result = validateTriggerPayload(eventType, body);
    if (!result.ok) {
      this.metrics.ingested.inc({ dialect: 'shopimind', outcome: 'invalid' });
      throw ApiError.badRequest(result.errors);
    }
    const envelope = toEnvelope(principal, codeName, 'shopimind', result.value, idempotencyKey ?? null, {
      schemaVersion: eventType.version,
    });
    const { eventId } = await this.ingest.accept(envelope, result.value.targetKey);
    return { success: true, event_id: eventId };
  }
}
