import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares a presented secret with the expected one in constant time. Both sides are
 * hashed first so the comparison runs on equal lengths: timingSafeEqual needs that, and
 * comparing lengths directly would leak the secret's length.
 */
export function secretMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(sha256(expected), sha256(given));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1]?.trim();
}

/**
 * DEV ONLY. The service credential between the gateway (and tools) and the history service's
 * internal API when RELAY_HISTORY_TOKEN is unset, so a service started by hand still talks
 * to its peer. `npm start`, the test stacks and docker-compose pass a generated token
 * instead; anyone with the source knows this one, so production refuses it.
 */
export const DEV_ONLY_HISTORY_TOKEN = 'relay-dev-only-history-token (never use in production)';

/** The token a caller sends and the history service expects: the configured one, or the dev-only one. */
export function historyToken(value: string | undefined): string {
  return value || DEV_ONLY_HISTORY_TOKEN;
}

/**
 * The history token a service may run with, checked at boot the way `secretKeyFor` checks the
 * webhook key: a configured token; or, outside production, the dev-only one with a warning.
 * With `NODE_ENV=production` an unset token is an error: the internal API would otherwise
 * accept a credential published in the source.
 */
export function historyTokenFor(value: string | undefined, nodeEnv: string, warn: (message: string) => void): string {
  if (value) return value;
  if (nodeEnv === 'production') {
    throw new Error(
      'RELAY_HISTORY_TOKEN is required when NODE_ENV=production (the service credential between the gateway and history): refusing the built-in dev-only token',
    );
  }
  warn('RELAY_HISTORY_TOKEN is not set: the history API uses the DEV-ONLY token; set it (the same on the gateway and history) in any real deployment');
  return DEV_ONLY_HISTORY_TOKEN;
}
