import path from 'node:path';

export { ContractError, type ContractErrorCode } from './errors';
export { SCHEMAS_DIR, SCHEMA_FILES, loadSchema, type SchemaName, type AvroRecordSchema } from './schemas';
export { TOPICS, topicName, valueSubject, topicKeyOf, type TopicKey, type TopicValue } from './topics';
export { ContractRegistry, type ContractRegistryOptions, type Decoded } from './registry';
export { generateTypes } from './codegen';
export type {
  EventEnvelope,
  ContactRef,
  VisitorRef,
  EventSource,
  RejectedEvent,
  DeadLetter,
  WebhookDelivery,
  WebhookAttempt,
  WebhookDeadLetter,
  EventOutcome,
  ScenarioRun,
  ScenarioRunAction,
} from './generated/types';

export const GENERATED_TYPES_FILE = path.join(__dirname, 'generated', 'types.ts');
