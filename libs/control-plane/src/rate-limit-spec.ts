import { isoDurationMs } from './duration';

/** A requests-per-window limit; the window is whole seconds (the limiter's resolution). */
export interface RateLimit {
  requests: number;
  perSeconds: number;
}

/** Seed 003's plans. Enterprise has no default: it gets an explicit `rate_limit`. */
export const PLAN_LIMITS = {
  starter: { requests: 1000, perSeconds: 3600 },
  pro: { requests: 10000, perSeconds: 3600 },
  enterprise: null,
} as const satisfies Record<string, RateLimit | null>;
export type Plan = keyof typeof PLAN_LIMITS;

/**
 * `PT1S` → 1, `PT1H30M` → 5400, `P1D` → 86400; null when not a positive whole-second
 * duration: a rate window of months or years has no fixed length, and the limiter counts
 * whole seconds.
 */
export function parseIsoDuration(text: string): number | null {
  const ms = isoDurationMs(text, { fractions: false });
  return ms === null || ms === 0 ? null : ms / 1000;
}

/** The canonical ISO 8601 form of a whole number of seconds: 3600 → `PT1H`, 86400 → `P1D`. */
export function formatIsoDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  let rest = seconds % 86400;
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  const m = Math.floor(rest / 60);
  const s = rest % 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

/** The wire form used by the admin API: `{"requests": 50, "per": "PT1S"}`. */
export interface RateLimitView {
  requests: number;
  per: string;
}

export const rateLimitView = (limit: RateLimit | null): RateLimitView | null =>
  limit ? { requests: limit.requests, per: formatIsoDuration(limit.perSeconds) } : null;

/** Parses `{"requests", "per"}`; returns every problem at once. */
export function parseRateLimit(input: unknown, field = 'rate_limit'): { ok: true; value: RateLimit | null } | { ok: false; errors: string[] } {
  if (input === undefined || input === null) return { ok: true, value: null };
  if (typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: [`${field} must be an object {"requests", "per"}`] };
  const { requests, per } = input as Record<string, unknown>;
  const errors: string[] = [];
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 1 || requests > 1_000_000_000) {
    errors.push(`${field}.requests must be an integer between 1 and 1000000000`);
  }
  const seconds = typeof per === 'string' ? parseIsoDuration(per) : null;
  if (seconds === null || seconds > 31 * 86400) {
    errors.push(`${field}.per must be an ISO 8601 duration of whole seconds up to P31D (e.g. PT1S, PT1M, PT1H, P1D)`);
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { requests: requests as number, perSeconds: seconds as number } };
}
