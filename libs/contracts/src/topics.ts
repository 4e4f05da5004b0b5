import type { DeadLetter, EventEnvelope, EventOutcome, RejectedEvent, WebhookAttempt, WebhookDeadLetter, WebhookDelivery } from './generated/types';
import type { SchemaName } from './schemas';

/**
 * The typed topic map: one entry per topic with its value schema, key meaning and
 * provisioning settings, so producers and consumers cannot disagree.
 */
export const TOPICS = {
  ingested: {
    suffix: 'events.ingested',
    schema: 'EventEnvelope',
    key: 'team_id:target_key',
    partitions: 6,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
  },
  validated: {
    suffix: 'events.validated',
    schema: 'EventEnvelope',
    key: 'team_id:target_key',
    partitions: 6,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
  },
  rejected: {
    suffix: 'events.rejected',
    schema: 'RejectedEvent',
    key: 'team_id:target_key',
    partitions: 6,
    config: { 'retention.ms': String(30 * 24 * 3600 * 1000) },
  },
  outcomes: {
    suffix: 'events.outcomes',
    schema: 'EventOutcome',
    key: 'team_id:target_key',
    partitions: 6,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
  },
  deliveries: {
    suffix: 'webhooks.deliveries',
    schema: 'WebhookDelivery',
    key: 'endpoint_id',
    partitions: 6,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
  },
  attempts: {
    suffix: 'webhooks.attempts',
    schema: 'WebhookAttempt',
    key: 'endpoint_id',
    partitions: 6,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
  },
  deliveries_dead: {
    suffix: 'webhooks.deliveries.dead',
    schema: 'WebhookDeadLetter',
    key: 'endpoint_id',
    partitions: 3,
    config: { 'retention.ms': String(30 * 24 * 3600 * 1000) },
  },
  dlq: {
    suffix: 'dlq',
    schema: 'DeadLetter',
    key: 'original key',
    partitions: 3,
    config: { 'retention.ms': String(30 * 24 * 3600 * 1000) },
  },
} as const satisfies Record<string, { suffix: string; schema: SchemaName; key: string; partitions: number; config: Record<string, string> }>;

export type TopicKey = keyof typeof TOPICS;

interface SchemaTypes {
  EventEnvelope: EventEnvelope;
  RejectedEvent: RejectedEvent;
  DeadLetter: DeadLetter;
  WebhookDelivery: WebhookDelivery;
  WebhookAttempt: WebhookAttempt;
  WebhookDeadLetter: WebhookDeadLetter;
  EventOutcome: EventOutcome;
}

/** The TypeScript type of a topic's value. */
export type TopicValue<K extends TopicKey> = SchemaTypes[(typeof TOPICS)[K]['schema']];

/** Full topic name, e.g. `relay.events.ingested` for prefix `relay`. */
export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}.${TOPICS[key].suffix}`;
}

/** Registry subject of a topic's value (Confluent TopicNameStrategy). */
export function valueSubject(prefix: string, key: TopicKey): string {
  return `${topicName(prefix, key)}-value`;
}

export function topicKeyOf(prefix: string, topic: string): TopicKey | undefined {
  return (Object.keys(TOPICS) as TopicKey[]).find((k) => topicName(prefix, k) === topic);
}
