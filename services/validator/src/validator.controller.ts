import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope } from '@relay/contracts';
import { EventTypeCache, IdempotencyRepository, IdentityLinksRepository, TeamChanges } from '@relay/control-plane';
import type { InboundMessage, MessageOutcome } from '@relay/kafka';
import { RelayMetrics } from '@relay/observability';
import { createValidationHandler } from './validation.handler';

@Controller()
export class ValidatorController {
  private readonly handler: (messages: InboundMessage<EventEnvelope>[]) => Promise<MessageOutcome[]>;

  constructor(
    @Inject(EventTypeCache) eventTypes: EventTypeCache,
    @Inject(IdempotencyRepository) idempotency: IdempotencyRepository,
    @Inject(IdentityLinksRepository) identity: IdentityLinksRepository,
    @Inject(TeamChanges) changes: TeamChanges,
    @Inject(RelayMetrics) metrics: RelayMetrics,
  ) {
    this.handler = createValidationHandler({
      eventTypes,
      changes,
      idempotency,
      identity,
      countRejection: (reason) => metrics.rejected.inc({ stage: 'validator', reason }),
    });
  }

  @EventPattern('ingested')
  validate(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return this.handler(messages);
  }
}
