/** `5s,5m,30m,2h` → milliseconds. The config schema has already checked the grammar. */
export function parseSchedule(text: string): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  return text.split(',').map((part) => {
    const match = /^\s*(\d+)(ms|s|m|h)\s*$/.exec(part);
    if (!match) throw new Error(`bad duration: ${part}`);
    return Number(match[1]) * (unit[match[2] as string] as number);
  });
}

/**
 * The delay before the next attempt after `attemptsDone` failed attempts, or null when
 * none is left. Jitter of ±20% spreads the retries of many deliveries that failed
 * together (an endpoint outage) so they do not all come back at the same second.
 * A Retry-After (429/503) is honoured as a floor, capped at the schedule's longest step.
 */
export function nextRetryDelay(
  schedule: readonly number[],
  attemptsDone: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attemptsDone - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  const ceiling = Math.max(...schedule);
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, ceiling));
}

/** Retry-After as delta-seconds or an HTTP date; null when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
