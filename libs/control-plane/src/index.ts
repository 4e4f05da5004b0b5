export { ControlPlaneError, type ControlPlaneErrorCode } from './errors';
export { ensureDatabase, migrate, prepareDatabase, createPool, withTransaction, MIGRATIONS_DIR } from './database';
export { PostgresModule, PG_POOL } from './postgres.module';
export {
  TeamsRepository,
  ApiKeysRepository,
  generateApiKey,
  keyPrefix,
  type ApiKeyPrincipal,
  type ApiKeyRecord,
  type CreatedApiKey,
  type Environment,
  type KeyStatus,
  NEGATIVE_CACHE_MAX,
  NEGATIVE_CACHE_MS,
  type KeyTransition,
  type Team,
} from './keys';
export { isoDurationMs, type IsoDurationRules } from './duration';
export {
  PLAN_LIMITS,
  formatIsoDuration,
  parseIsoDuration,
  parseRateLimit,
  rateLimitView,
  type Plan,
  type RateLimit,
  type RateLimitView,
} from './rate-limit-spec';
export {
  DEFAULT_MAX_BLOCK,
  RateLimits,
  RATE_LIMITS_TABLE,
  blockSize,
  type LimiterFactory,
  type RateLimitDecision,
  type RateLimitScope,
  type RateLimitSubject,
  type RateLimitsOptions,
} from './rate-limits';
export { KeyChangeListener, KEY_CHANGES_CHANNEL, type KeyChange } from './key-changes';
export { AuditRepository, REDACTED, redactSecrets, type ActorType, type AuditActor, type AuditEntry, type AuditInput } from './audit';
export { EventTypesRepository, EventTypeCache, type StoredEventType } from './event-types';
export { IdempotencyRepository, IdentityLinksRepository, IDEMPOTENCY_WINDOW_HOURS, IDENTIFY_LINK_DAYS } from './ingestion';
export { NO_CHANGES, SeqCache, TeamChanges, type TeamSeq } from './team-changes';
