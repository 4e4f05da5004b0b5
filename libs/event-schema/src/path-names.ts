// Error messages name seed 000's paths (`contact.id`, `customData.plan`, …). An ingestion
// dialect that receives the same data under other names passes a map so messages name the
// fields as its emitter sent them. The map renames only these fixed paths, where a message's
// path is built: a sender's own field names are appended afterwards and never rewritten.

/** Every fixed path a trigger error message can start with; the keys a path map may use. */
export const TRIGGER_PATHS = [
  'contact',
  'contact.id',
  'contact.email',
  'contact.phone',
  'contact.customData',
  'visitor',
  'visitor.id',
  'visitor.customData',
  'metaData',
  'customData',
] as const;
export type TriggerPath = (typeof TRIGGER_PATHS)[number];

/**
 * From a seed-000 path prefix (whole dot-separated segments) to the emitter's name for it.
 * The longest matching prefix wins; paths no key matches keep their seed-000 name.
 */
export type PathNames = Readonly<Partial<Record<TriggerPath, string>>>;

/** The rendered name of each fixed path. */
export type ResolvedPathNames = Readonly<Record<TriggerPath, string>>;

/**
 * Seed 003's send: user_info carries the contact and event_data the custom data.
 * `contact.customData` has no Sendmator counterpart (user_info.custom_fields is profile data,
 * not schema-checked), so it keeps its own name rather than suggest a field that would not help.
 */
export const SENDMATOR_PATHS: PathNames = Object.freeze({
  contact: 'user_info',
  'contact.id': 'user_info.contact_external_id',
  'contact.email': 'user_info.email',
  'contact.phone': 'user_info.phone',
  'contact.customData': 'contact.customData',
  customData: 'event_data',
});

/**
 * Seed 002's collect (track): traits carry the contact, properties.properties the custom
 * data, and clientId is the visitor (its id) when the event type targets visitors.
 * `visitor.customData` has no Simon counterpart, so it keeps its own name.
 */
export const SIMON_PATHS: PathNames = Object.freeze({
  'contact.id': 'traits.userId',
  'contact.email': 'traits.email',
  customData: 'properties.properties',
  visitor: 'clientId',
  'visitor.id': 'clientId',
  'visitor.customData': 'visitor.customData',
});

const KNOWN: ReadonlySet<string> = new Set(TRIGGER_PATHS);

const IDENTITY: ResolvedPathNames = Object.freeze(Object.fromEntries(TRIGGER_PATHS.map((p) => [p, p])) as Record<TriggerPath, string>);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const usable = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Problems with a path map, worded for checkValidationOptions. */
export function checkPathNames(names: unknown): string[] {
  if (names === undefined) return [];
  if (!isRecord(names)) return ['pathNames must be an object mapping trigger paths to names'];
  const errors: string[] = [];
  for (const key of Object.keys(names)) {
    if (!KNOWN.has(key)) errors.push(`pathNames has an unknown trigger path ${JSON.stringify(key)} (known: ${TRIGGER_PATHS.join(', ')})`);
    else if (!usable(names[key])) errors.push(`pathNames[${JSON.stringify(key)}] must be a non-empty string`);
  }
  return errors;
}

// Resolving costs about as much as validating a small body; the shared dialect maps are
// frozen, so their resolution can be kept (a caller's mutable map is resolved every time).
const resolvedFrozen = new WeakMap<object, ResolvedPathNames>();

/**
 * The name of every fixed path under `names`. Like the other options it never throws:
 * unknown keys and unusable values are ignored (checkPathNames reports them).
 */
export function resolvePathNames(names: unknown): ResolvedPathNames {
  if (!isRecord(names)) return IDENTITY;
  if (!Object.isFrozen(names)) return resolve(names);
  let resolved = resolvedFrozen.get(names);
  if (resolved === undefined) {
    resolved = resolve(names);
    resolvedFrozen.set(names, resolved);
  }
  return resolved;
}

function resolve(names: Record<string, unknown>): ResolvedPathNames {
  const entries = Object.keys(names).filter((k) => KNOWN.has(k) && usable(names[k]));
  if (entries.length === 0) return IDENTITY;
  const out = {} as Record<TriggerPath, string>;
  for (const path of TRIGGER_PATHS) {
    let best: string | undefined;
    for (const key of entries) {
      const matches = path === key || path.startsWith(`${key}.`);
      if (matches && (best === undefined || key.length > best.length)) best = key;
    }
    out[path] = best === undefined ? path : `${names[best] as string}${path.slice(best.length)}`;
  }
  return Object.freeze(out);
}
