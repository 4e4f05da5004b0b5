import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Root folder of the `.avsc` files: the single source of truth of the wire contracts. */
export const SCHEMAS_DIR = path.resolve(__dirname, '../../../schemas');

export const SCHEMA_FILES = {
  EventEnvelope: 'event-envelope.avsc',
  RejectedEvent: 'rejected-event.avsc',
  DeadLetter: 'dead-letter.avsc',
  WebhookDelivery: 'webhook-delivery.avsc',
  WebhookAttempt: 'webhook-attempt.avsc',
  WebhookDeadLetter: 'webhook-dead-letter.avsc',
  EventOutcome: 'event-outcome.avsc',
} as const;

export type SchemaName = keyof typeof SCHEMA_FILES;

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

const cache = new Map<SchemaName, AvroRecordSchema>();

export function loadSchema(name: SchemaName): AvroRecordSchema {
  let schema = cache.get(name);
  if (!schema) {
    schema = JSON.parse(readFileSync(path.join(SCHEMAS_DIR, SCHEMA_FILES[name]), 'utf8')) as AvroRecordSchema;
    cache.set(name, schema);
  }
  return schema;
}
