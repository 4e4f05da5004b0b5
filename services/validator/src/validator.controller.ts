import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope } from '@relay/contracts';
import { EventTypeCache, IdempotencyRepository, IdentityLinksRepository, TeamChanges } from '@relay/control-plane';
import { coalesceBatches, type InboundMessage, type MessageOutcome } from '@relay/kafka';
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
    // The batches of one fetch (up to six partitions) share one pass: one round of
    // idempotency claims, identity links and team sequences instead of one per partition.
    this.handler = coalesceBatches(
      createValidationHandler({
        eventTypes,
        changes,
        idempotency,
        identity,
        countRejection: (reason) => metrics.rejected.inc({ stage: 'validator', reason }),
      }),
    );
  }

  @EventPattern('ingested')
  validate(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return this.handler(messages);
  }
}
