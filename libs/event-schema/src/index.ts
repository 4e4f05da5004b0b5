// The one validation implementation for event types and triggers: the HTTP gateway uses
// it for its synchronous 400 answer and the validator service, the authority, for events
// produced straight to Kafka, so both always agree. Pure: no I/O, no environment.
// Rules and messages: docs/event-types.md.

// The model: field types, slots, targets, definitions and the normalised event.
export * from './model';
export { CODE_NAME_MAX_LENGTH, CODE_NAME_PATTERN, validateCodeName } from './code-name';
export {
  DESCRIPTION_MAX_LENGTH,
  FIELD_DESCRIPTION_MAX_LENGTH,
  FIELD_NAME_MAX_LENGTH,
  mergeEventTypePatch,
  NAME_MAX_LENGTH,
  parseEventTypeDefinition,
  parseEventTypePatch,
} from './definition';
export { compileTriggerValidator, type TriggerValidator, validateTriggerPayload } from './payload';
export { checkValidationOptions, DEFAULT_LIMITS, type DefinitionOptions, type TriggerValidationOptions } from './options';
export { type PathNames, SENDMATOR_PATHS, SIMON_PATHS, TRIGGER_PATHS, type TriggerPath } from './path-names';
export { LONGTEXT_MAX_LENGTH, TEXT_MAX_LENGTH } from './field-types';
export { EMAIL_MAX_LENGTH, ID_MAX_LENGTH, PHONE_MAX_INPUT_LENGTH } from './identity';
export { envelopeSlots, rejectedEvent, triggerBodyFromEnvelope, type EnvelopeSlots } from './envelope';
