import { parse, toSeconds } from 'iso8601-duration';

export interface IsoDurationRules {
  /** Years, months and weeks have no fixed length: refused unless allowed (then resolved from the epoch). */
  calendarUnits?: boolean;
  /** Fractions of a second (`PT0.5S`) refused when false. Default true. */
  fractions?: boolean;
}

/**
 * The one ISO 8601 duration parser of the project (iso8601-duration underneath): `PT24H`,
 * `P2D`, `PT0.5S`… in milliseconds, or null when `text` is not one the rules accept.
 * Used by rate windows (API keys, webhook endpoints) and scenario delays.
 */
export function isoDurationMs(text: unknown, rules: IsoDurationRules = {}): number | null {
  // iso8601-duration accepts a dangling time designator (`P1DT`), which ISO 8601 does not.
  if (typeof text !== 'string' || text.endsWith('T')) return null;
  let parts: ReturnType<typeof parse>;
  try {
    parts = parse(text);
  } catch {
    return null;
  }
  if (!rules.calendarUnits && (parts.years || parts.months || parts.weeks)) return null;
  if (rules.fractions === false && Object.values(parts).some((v) => !Number.isInteger(v))) return null;
  const ms = Math.round(toSeconds(parts, new Date(0)) * 1000);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : null;
}
