// Every error message the library produces is built here, so the wording (a public
// contract: clients match on it, seed 000 fixes the first two) changes in one place.
// docs/event-types.md lists them; the specs beside this file pin them word for word.

export const msg = {
  /** Seed 000 wording. */
  missing: (path: string): string => `Missing required property: ${path}`,
  /** Seed 000 wording: the JSON kind of the value can never satisfy the declared type. */
  invalidType: (path: string, expected: string, got: string): string => `Invalid type for property: ${path}. Expected ${expected}, got ${got}`,
  /** Right JSON kind, but outside the declared type's range, length or format. */
  invalidValue: (path: string, expected: string, got: string): string => `Invalid value for property: ${path}. Expected ${expected}, got ${got}`,
  unknown: (path: string): string => `Unknown property: ${path}`,
  notAllowedForTarget: (path: string, target: string): string => `Property not allowed for target ${target}: ${path}`,
  tooManyProperties: (path: string, count: number, max: number): string => `Too many properties in ${path}: ${count} (at most ${max})`,
  tooManyFields: (path: string, count: number, max: number): string => `Too many fields in ${path}: ${count} (at most ${max})`,
  duplicateField: (path: string, name: string, firstPath: string): string =>
    `Duplicate field name: ${path} ${JSON.stringify(name)} (already declared at ${firstPath})`,
  payloadType: (what: string, got: string): string => `Invalid type for ${what}. Expected object, got ${got}`,
  payloadTooLarge: (max: number): string => `Payload too large: more than ${max} keys and array elements in total`,
  unreadable: (what: string): string => `Invalid type for ${what}: it could not be read as JSON data`,
  emptyPatch: (): string => 'Empty patch: provide at least one of name, code_name, description, target, properties',
  truncated: (more: number): string => `Too many errors: ${more} more not shown`,
} as const;

/** Collects messages up to a cap and remembers how many it dropped. */
export class ErrorSink {
  readonly list: string[] = [];
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(message: string): void {
    if (this.list.length < this.max) this.list.push(message);
    else this.dropped++;
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** The messages, plus one summarising those over the cap. */
  done(): string[] {
    return this.dropped > 0 ? [...this.list, msg.truncated(this.dropped)] : this.list;
  }
}
