import type { EventEnvelope, RejectedEvent } from '@relay/contracts';
import type { StoredEventType } from '@relay/control-plane';
import { envelopeSlots, triggerBodyFromEnvelope, validateTriggerPayload, type NormalizedEvent } from '@relay/event-schema';
import { ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';

export interface EventTypeLookup {
  get(teamId: string, codeName: string): Promise<StoredEventType | null>;
}

export type RejectionCounter = (reason: string) => void;

function normalizedEnvelope(envelope: EventEnvelope, event: NormalizedEvent, version: number): EventEnvelope {
  return { ...envelope, ...envelopeSlots(event), schema_version: version };
}

function rejected(envelope: EventEnvelope, reasonCode: string, errors: string[], version: number | null): RejectedEvent {
  return {
    event_id: envelope.event_id,
    team_id: envelope.team_id,
    environment: envelope.environment,
    code_name: envelope.code_name,
    dialect: envelope.dialect,
    received_at: envelope.received_at,
    rejected_at: Date.now(),
    stage: 'validator',
    reason_code: reasonCode,
    errors,
    schema_version: version,
    envelope_json: JSON.stringify(envelope),
  };
}

/**
 * The validator stage: the authority on whether an event matches its event type, for
 * events from the gateway and from producers writing straight to Kafka alike. Every
 * event ends on exactly one of the validated or rejected topics; none is dropped.
 */
export function createValidationHandler(eventTypes: EventTypeLookup, countRejection: RejectionCounter) {
  return async (messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> => {
    const outcomes: MessageOutcome[] = [];
    for (const message of messages) {
      const envelope = message.value;
      const key = message.key ? message.key.toString() : null;
      const reject = (code: string, errors: string[], version: number | null): OutputRecord<'rejected'> => {
        countRejection(code);
        return { topic: 'rejected', key, value: rejected(envelope, code, errors, version) };
      };
      const eventType = await eventTypes.get(envelope.team_id, envelope.code_name);
      if (!eventType) {
        outcomes.push(ok(reject('UNKNOWN_EVENT_TYPE', [`Event type not found: ${envelope.code_name}`], null)));
        continue;
      }
      const errors: string[] = [];
      const body = triggerBodyFromEnvelope(envelope, errors);
      if (errors.length > 0) {
        outcomes.push(ok(reject('INVALID_ENVELOPE', errors, eventType.version)));
        continue;
      }
      const result = validateTriggerPayload(eventType, body);
      if (!result.ok) {
        outcomes.push(ok(reject('INVALID_PAYLOAD', result.errors, eventType.version)));
        continue;
      }
      const validated: OutputRecord<'validated'> = {
        topic: 'validated',
        key: key ?? `${envelope.team_id}:${result.value.targetKey}`,
        value: normalizedEnvelope(envelope, result.value, eventType.version),
      };
      outcomes.push(ok(validated));
    }
    return outcomes;
  };
}
