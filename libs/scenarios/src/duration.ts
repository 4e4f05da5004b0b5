import { isoDurationMs } from '@relay/control-plane';

/**
 * ISO 8601 duration (`PT24H`, `P2D`, `PT0.5S`) in milliseconds, or null when the text is
 * not one. Years, months and weeks are resolved against the epoch (365/30-ish days);
 * scenarios use hours and days in practice.
 */
export function durationMs(text: string): number | null {
  return isoDurationMs(text, { calendarUnits: true });
}
