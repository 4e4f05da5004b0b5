import { Inject, Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type EventEnvelope, type EventSource } from '@relay/contracts';
import { IdempotencyRepository, type ApiKeyPrincipal } from '@relay/control-plane';
import { envelopeSlots, rejectedEvent, type NormalizedEvent } from '@relay/event-schema';
import { LingeringProducer } from '@relay/kafka';
import { RelayMetrics } from '@relay/observability';

export type Dialect = 'shopimind' | 'sendmator' | 'simon';

/** Dialect fields beyond seed 000's body, carried on the envelope as they are. */
export interface EnvelopeExtras {
  externalId?: string | null;
  name?: string | null;
  attributes?: Record<string, unknown> | null;
  variables?: Record<string, unknown> | null;
  source?: EventSource | null;
  triggerAt?: number | null;
  occurredAt?: number | null;
  clientId?: string | null;
  requiresIdentity?: boolean;
  /** Version of the event type the gateway validated against. */
  schemaVersion?: number | null;
}

/** Partition key: all events of one target of one team stay in order on one partition. */
export const partitionKey = (teamId: string, targetKey: string): string => `${teamId}:${targetKey}`;

const json = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

function baseEnvelope(
  principal: ApiKeyPrincipal,
  codeName: string,
  dialect: Dialect,
  idempotencyKey: string | null,
  extras: EnvelopeExtras,
): Omit<EventEnvelope, 'contact' | 'visitor' | 'meta_data_json' | 'custom_data_json'> {
  return {
    event_id: uuidv7(),
    team_id: principal.teamId,
    environment: principal.environment,
    code_name: codeName,
    dialect,
    received_at: Date.now(),
    idempotency_key: idempotencyKey,
    variables_json: json(extras.variables),
    source: extras.source ?? null,
    trigger_at: extras.triggerAt ?? null,
    occurred_at: extras.occurredAt ?? null,
    client_id: extras.clientId ?? null,
    requires_identity: extras.requiresIdentity ?? false,
    schema_version: extras.schemaVersion ?? null,
  };
}

/** The canonical envelope of an event the gateway validated. */
export function toEnvelope(
  principal: ApiKeyPrincipal,
  codeName: string,
  dialect: Dialect,
  event: NormalizedEvent,
  idempotencyKey: string | null,
  extras: EnvelopeExtras = {},
): EventEnvelope {
  return {
    ...baseEnvelope(principal, codeName, dialect, idempotencyKey, extras),
    ...envelopeSlots(event, {
      external_id: extras.externalId ?? null,
      name: extras.name ?? null,
      attributes_json: json(extras.attributes),
    }),
  };
}

const text = (v: unknown): string | null => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);
const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * Best-effort envelope of an event that failed validation at the gateway (Simon's
 * non-debug path answers 200 and records it as rejected): keeps whatever was sent, so
 * history shows the payload next to the reasons.
 */
export function rawEnvelope(
  principal: ApiKeyPrincipal,
  codeName: string,
  dialect: Dialect,
  body: { contact?: unknown; visitor?: unknown; metaData?: unknown; customData?: unknown },
  extras: EnvelopeExtras = {},
): EventEnvelope {
  const contact = obj(body.contact);
  const visitor = obj(body.visitor);
  return {
    ...baseEnvelope(principal, codeName, dialect, null, extras),
    contact: contact
      ? {
          id: text(contact.id),
          email: text(contact.email),
          phone: text(contact.phone),
          custom_data_json: json(contact.customData),
          external_id: extras.externalId ?? null,
          name: extras.name ?? null,
          attributes_json: json(extras.attributes),
        }
      : null,
    visitor: visitor ? { id: text(visitor.id), custom_data_json: json(visitor.customData) } : null,
    meta_data_json: json(body.metaData),
    custom_data_json: json(body.customData),
  };
}

/**
 * Puts events on the Kafka topics. `accept` resolves only when the broker has
 * acknowledged the record on all in-sync replicas: the gateway answers 2xx after it.
 */
@Injectable()
export class IngestService {
  constructor(
    @Inject(ContractRegistry) private readonly registry: ContractRegistry,
    @Inject(LingeringProducer) private readonly producer: LingeringProducer,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
    @Inject(IdempotencyRepository) private readonly idempotency: IdempotencyRepository,
  ) {}

  /**
   * Queues a validated event. With an idempotency key already used in the last 24 h the
   * first event's id is returned and nothing new is queued.
   */
  async accept(envelope: EventEnvelope, targetKey: string): Promise<{ eventId: string; duplicate: boolean }> {
    const key = envelope.idempotency_key;
    if (key) {
      const claim = await this.idempotency.claim(envelope.team_id, key, envelope.event_id);
      if (!claim.fresh) {
        this.metrics.ingested.inc({ dialect: envelope.dialect, outcome: 'duplicate' });
        return { eventId: claim.eventId, duplicate: true };
      }
    }
    try {
      const value = await this.registry.encode('ingested', envelope);
      await this.producer.send(this.registry.topic('ingested'), {
        key: partitionKey(envelope.team_id, targetKey),
        value,
        headers: { 'relay-event-id': envelope.event_id, 'relay-dialect': envelope.dialect },
      });
    } catch (error) {
      // Not queued: the key must not point at an event that does not exist.
      if (key) await this.idempotency.release(envelope.team_id, key, envelope.event_id).catch(() => undefined);
      throw error;
    }
    this.metrics.ingested.inc({ dialect: envelope.dialect, outcome: 'accepted' });
    this.metrics.produced.inc({ stage: 'gateway', topic: this.registry.topic('ingested') });
    return { eventId: envelope.event_id, duplicate: false };
  }

  /** Records an event the gateway itself rejected (never dropped): rejected topic → history. */
  async reject(envelope: EventEnvelope, reasonCode: string, errors: string[]): Promise<void> {
    const record = rejectedEvent(envelope, { stage: 'gateway', reasonCode, errors, schemaVersion: null });
    const value = await this.registry.encode('rejected', record);
    await this.producer.send(this.registry.topic('rejected'), {
      key: `${envelope.team_id}:${envelope.client_id ?? envelope.event_id}`,
      value,
      headers: { 'relay-event-id': envelope.event_id, 'relay-dialect': envelope.dialect },
    });
    this.metrics.ingested.inc({ dialect: envelope.dialect, outcome: 'rejected' });
    this.metrics.rejected.inc({ stage: 'gateway', reason: reasonCode });
  }
}
