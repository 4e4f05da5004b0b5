import type { z } from 'zod';

/** A zod object whose keys are environment variable names. */
export type ConfigSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Raised when the environment does not satisfy a service's schema. The message names
 * every bad variable so the operator can fix them all at once; values are never echoed
 * (they may be secrets).
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly service: string,
    readonly problems: { variable: string; message: string }[],
  ) {
    super(`Invalid configuration for ${service}:\n` + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment once, at boot, into a typed read-only object. This is the
 * only place in the project that reads process.env.
 */
export function loadConfig<S extends ConfigSchema>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.infer<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const raw = env[key];
    // An empty variable means "not set": docker-compose and shells often pass "".
    input[key] = raw === '' ? undefined : raw;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      service,
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(root)'),
        message: issue.message,
      })),
    );
  }
  return Object.freeze(parsed.data);
}

// Names of variables whose values are secrets (RELAY_DEV_API_KEY, CLICKHOUSE_PASSWORD,
// RELAY_ADMIN_TOKEN…), but not settings that merely mention keys (RELAY_API_KEY_CACHE_MS).
const SECRET_PATTERN = /(?:^|_)(?:SECRET|SECRET_KEY|PASSWORD|TOKEN|API_KEY)$/i;

/** Config as printable text with secrets masked and credentials stripped from URLs. */
export function describeConfig(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (SECRET_PATTERN.test(key)) {
      out[key] = '***';
    } else if (typeof value === 'string' && /^[a-z]+:\/\/[^/]*@/i.test(value)) {
      out[key] = value.replace(/\/\/[^/]*@/, '//***@');
    } else {
      out[key] = value;
    }
  }
  return out;
}
