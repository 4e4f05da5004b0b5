import { parse, toSeconds } from 'iso8601-duration';

/**
 * ISO 8601 duration (`PT24H`, `P2D`, `PT0.5S`) in milliseconds, or null when the text is
 * not one. Years and months are resolved against the epoch by iso8601-duration (365/30-ish
 * days); scenarios use hours and days in practice.
 */
export function durationMs(text: string): number | null {
  if (typeof text !== 'string' || !/^P/.test(text)) return null;
  try {
    const ms = Math.round(toSeconds(parse(text), new Date(0)) * 1000);
    return Number.isFinite(ms) && ms >= 0 ? ms : null;
  } catch {
    return null;
  }
}
