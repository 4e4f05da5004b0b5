import { PLAN_LIMITS, parseIsoDuration, parseRateLimit, type Environment, type Plan, type RateLimit } from '@relay/control-plane';

type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownFields(body: Record<string, unknown>, allowed: string[]): string[] {
  return Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((k) => `Unknown field: ${k}`);
}

export interface CreateTeamInput {
  name: string;
  plan?: Plan;
  rateLimit: RateLimit | null;
}

/** `{"name", "plan"?: "starter"|"pro"|"enterprise", "rate_limit"?: {"requests", "per"}}` */
export function parseCreateTeam(body: unknown): Parsed<CreateTeamInput> {
  if (!isObject(body)) return { ok: false, errors: ['Body must be a JSON object {"name"}'] };
  const errors = unknownFields(body, ['name', 'plan', 'rate_limit']);
  const name = typeof body.name === 'string' ? body.name.trim() : '';
  if (!name || name.length > 200) errors.push('name is required: a string of 1 to 200 characters');
  const plans = Object.keys(PLAN_LIMITS);
  if (body.plan !== undefined && !(typeof body.plan === 'string' && plans.includes(body.plan))) {
    errors.push(`plan must be one of ${plans.join(', ')}`);
  }
  const limit = parseRateLimit(body.rate_limit);
  if (!limit.ok) errors.push(...limit.errors);
  if (errors.length || !limit.ok) return { ok: false, errors };
  return { ok: true, value: { name, ...(body.plan !== undefined ? { plan: body.plan as Plan } : {}), rateLimit: limit.value } };
}

export interface CreateKeyInput {
  environment: Environment;
  name: string | null;
  rateLimit: RateLimit | null;
  expiresAt: Date | null;
}

/** `{"environment": "production"|"staging", "name"?, "rate_limit"?, "expires_at"?}` */
export function parseCreateKey(body: unknown, now = Date.now()): Parsed<CreateKeyInput> {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) return { ok: false, errors: ['Body must be a JSON object {"environment"}'] };
  const errors = unknownFields(body, ['environment', 'name', 'rate_limit', 'expires_at']);
  if (body.environment !== 'production' && body.environment !== 'staging') errors.push('environment must be "production" or "staging"');
  if (body.name !== undefined && body.name !== null && !(typeof body.name === 'string' && body.name.length <= 200)) {
    errors.push('name must be a string of at most 200 characters');
  }
  const limit = parseRateLimit(body.rate_limit);
  if (!limit.ok) errors.push(...limit.errors);
  let expiresAt: Date | null = null;
  if (body.expires_at !== undefined && body.expires_at !== null) {
    const t = typeof body.expires_at === 'string' ? Date.parse(body.expires_at) : NaN;
    if (Number.isNaN(t)) errors.push('expires_at must be an ISO 8601 date-time');
    else if (t <= now) errors.push('expires_at must be in the future');
    else expiresAt = new Date(t);
  }
  if (errors.length || !limit.ok) return { ok: false, errors };
  return {
    ok: true,
    value: { environment: body.environment as Environment, name: typeof body.name === 'string' ? body.name : null, rateLimit: limit.value, expiresAt },
  };
}

/** `{"overlap"?: "PT1H"}`: how long the old key keeps working after a rotation (default: not at all). */
export function parseRotate(body: unknown): Parsed<{ overlapSeconds: number }> {
  if (body === undefined || body === null) return { ok: true, value: { overlapSeconds: 0 } };
  if (!isObject(body)) return { ok: false, errors: ['Body must be a JSON object {"overlap"?}'] };
  const errors = unknownFields(body, ['overlap']);
  let overlapSeconds = 0;
  if (body.overlap !== undefined && body.overlap !== null) {
    const s = typeof body.overlap === 'string' ? parseIsoDuration(body.overlap) : null;
    if (s === null || s > 31 * 86400) errors.push('overlap must be an ISO 8601 duration up to P31D (e.g. PT10M, PT1H)');
    else overlapSeconds = s;
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { overlapSeconds } };
}
