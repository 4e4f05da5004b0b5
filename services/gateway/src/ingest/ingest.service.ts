import { Inject, Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type EventEnvelope } from '@relay/contracts';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { envelopeSlots, type NormalizedEvent } from '@relay/event-schema';
import { LingeringProducer } from '@relay/kafka';
import { RelayMetrics } from '@relay/observability';

/** Partition key: all events of one target of one team stay in order on one partition. */
export const partitionKey = (teamId: string, targetKey: string): string => `${teamId}:${targetKey}`;

export function toEnvelope(
  principal: ApiKeyPrincipal,
  codeName: string,
  dialect: string,
  event: NormalizedEvent,
  idempotencyKey: string | null,
): EventEnvelope {
  return {
    event_id: uuidv7(),
    team_id: principal.teamId,
    environment: principal.environment,
    code_name: codeName,
    dialect,
    received_at: Date.now(),
    idempotency_key: idempotencyKey,
    ...envelopeSlots(event),
    schema_version: null,
  };
}

/**
 * Puts accepted events on the ingested topic. `publish` resolves only when the broker
 * has acknowledged the record on all in-sync replicas: the gateway answers 2xx after it.
 */
@Injectable()
export class IngestService {
  constructor(
    @Inject(ContractRegistry) private readonly registry: ContractRegistry,
    @Inject(LingeringProducer) private readonly producer: LingeringProducer,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
  ) {}

  async publish(envelope: EventEnvelope, targetKey: string): Promise<void> {
    const value = await this.registry.encode('ingested', envelope);
    await this.producer.send(this.registry.topic('ingested'), {
      key: partitionKey(envelope.team_id, targetKey),
      value,
      headers: { 'relay-event-id': envelope.event_id, 'relay-dialect': envelope.dialect },
    });
    this.metrics.ingested.inc({ dialect: envelope.dialect, outcome: 'accepted' });
    this.metrics.produced.inc({ stage: 'gateway', topic: this.registry.topic('ingested') });
  }
}
