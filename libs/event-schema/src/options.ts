import { isSupportedCountry } from 'libphonenumber-js/max';
import { checkPathNames, type PathNames, type ResolvedPathNames, resolvePathNames } from './path-names';

export interface DefinitionOptions {
  /** Most fields one slot of an event type may declare. Default 100. */
  maxFieldsPerSlot?: number;
}

export interface TriggerValidationOptions {
  /**
   * ISO 3166-1 alpha-2 region (e.g. 'FR') used to read phone numbers written without a
   * country code. Default: none, so a phone must start with '+' and its country code;
   * guessing a region would silently send messages to the wrong country.
   */
  defaultPhoneRegion?: string;
  /** Most keys one slot object of a trigger body may carry (same limit as for declared fields). Default 100. */
  maxFieldsPerSlot?: number;
  /** Deepest nesting of objects/arrays inside a `json` field value. Default 10. */
  maxJsonDepth?: number;
  /** Most object members plus array elements in the whole body. Default 1000. */
  maxTotalKeys?: number;
  /** Most error messages returned; the rest are summarised in one last message. Default 100. */
  maxErrors?: number;
  /**
   * Names error messages give seed 000's paths, for callers that received the body under
   * other names (e.g. SENDMATOR_PATHS: `customData.plan` is reported as `event_data.plan`).
   * Keys are whole-segment path prefixes; the longest match wins. Default: seed 000's names.
   */
  pathNames?: PathNames;
}

export const DEFAULT_LIMITS = {
  maxFieldsPerSlot: 100,
  maxJsonDepth: 10,
  maxTotalKeys: 1000,
  maxErrors: 100,
} as const;

// Hard ceilings keep a misconfiguration from turning the depth-bounded recursion into a
// stack overflow or the error list into an unbounded allocation.
const CEILINGS = { maxFieldsPerSlot: 10_000, maxJsonDepth: 1_000, maxTotalKeys: 10_000_000, maxErrors: 10_000 };

export interface ResolvedTriggerOptions {
  defaultPhoneRegion: string | undefined;
  maxFieldsPerSlot: number;
  maxJsonDepth: number;
  maxTotalKeys: number;
  maxErrors: number;
  pathNames: ResolvedPathNames;
}

type LimitName = keyof typeof CEILINGS;
const LIMIT_NAMES: readonly LimitName[] = ['maxFieldsPerSlot', 'maxJsonDepth', 'maxTotalKeys', 'maxErrors'];

function validLimit(name: LimitName, v: unknown): v is number {
  const min = name === 'maxJsonDepth' ? 0 : 1;
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= CEILINGS[name];
}

/**
 * Problems with a set of options, for services to check once at start-up and fail fast.
 * The validators themselves never throw: they fall back to the default for a bad limit
 * and to "no default region" for an unsupported one.
 */
export function checkValidationOptions(options: TriggerValidationOptions): string[] {
  const errors: string[] = [];
  for (const name of LIMIT_NAMES) {
    const v = options[name];
    if (v !== undefined && !validLimit(name, v)) {
      const min = name === 'maxJsonDepth' ? 0 : 1;
      errors.push(`${name} must be an integer between ${min} and ${CEILINGS[name]}`);
    }
  }
  const region = options.defaultPhoneRegion;
  if (region !== undefined && !(typeof region === 'string' && isSupportedCountry(region))) {
    errors.push('defaultPhoneRegion must be a supported ISO 3166-1 alpha-2 region code such as FR');
  }
  errors.push(...checkPathNames(options.pathNames));
  return errors;
}

export function resolveTriggerOptions(options: TriggerValidationOptions | undefined): ResolvedTriggerOptions {
  const o = options ?? {};
  const pick = (name: LimitName): number => {
    const v = o[name];
    return validLimit(name, v) ? v : DEFAULT_LIMITS[name];
  };
  const region = o.defaultPhoneRegion;
  return {
    defaultPhoneRegion: typeof region === 'string' && isSupportedCountry(region) ? region : undefined,
    maxFieldsPerSlot: pick('maxFieldsPerSlot'),
    maxJsonDepth: pick('maxJsonDepth'),
    maxTotalKeys: pick('maxTotalKeys'),
    maxErrors: pick('maxErrors'),
    pathNames: resolvePathNames(o.pathNames),
  };
}

export function resolveMaxFieldsPerSlot(options: DefinitionOptions | undefined): number {
  const v = options?.maxFieldsPerSlot;
  return validLimit('maxFieldsPerSlot', v) ? v : DEFAULT_LIMITS.maxFieldsPerSlot;
}
