// The event-type model of the ShopiMind external events spec (seed 000): an event type
// declares typed fields in four payload slots and the kind of target it is fired at.

export const FIELD_TYPES = ['bool', 'text', 'longtext', 'number', 'decimal', 'date', 'json'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldSpec {
  name: string;
  type: FieldType;
  required: boolean;
  description?: string;
}

// Slot names are the payload paths they validate; 'contact.customData' is a single key
// (with a dot) because that is how seed 000 names the slot in `properties`.
export const SLOTS = ['metaData', 'customData', 'contact.customData', 'visitor.customData'] as const;
export type Slot = (typeof SLOTS)[number];

export interface EventProperties {
  metaData?: FieldSpec[];
  customData?: FieldSpec[];
  'contact.customData'?: FieldSpec[];
  'visitor.customData'?: FieldSpec[];
}

export const EVENT_TARGETS = ['contact', 'visitor', 'both'] as const;
export type EventTarget = (typeof EVENT_TARGETS)[number];

export interface EventTypeDefinition {
  name: string;
  code_name: string;
  description?: string;
  target: EventTarget;
  properties: EventProperties;
}

/** What updateEvent accepts: any subset; `description: null` removes the description. */
export interface EventTypePatch {
  name?: string;
  code_name?: string;
  description?: string | null;
  target?: EventTarget;
  /** Merged slot by slot: a slot given here replaces that slot, `null` removes it. */
  properties?: { [S in Slot]?: FieldSpec[] | null };
}

/** The part of a definition the trigger validator needs. */
export type TriggerSchema = Pick<EventTypeDefinition, 'target' | 'properties'>;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface NormalizedContact {
  id?: string | number;
  /** Lower-cased. */
  email?: string;
  /** E.164, e.g. +33612345678. */
  phone?: string;
  customData?: JsonObject;
}

export interface NormalizedVisitor {
  id: string | number;
  customData?: JsonObject;
}

/**
 * The trigger body after validation: same shape as the input (slots absent in the input
 * stay absent), fresh objects that share nothing with the input, plus `targetKey`.
 */
export interface NormalizedEvent {
  contact?: NormalizedContact;
  visitor?: NormalizedVisitor;
  metaData?: JsonObject;
  customData?: JsonObject;
  /**
   * Stable partition key of the target: `contact:id:<id>`, `contact:email:<email>`,
   * `contact:phone:<e164>` or `visitor:<id>`, the first that applies in that order.
   */
  targetKey: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: string[] };
