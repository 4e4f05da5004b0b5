export { ControlPlaneError, type ControlPlaneErrorCode } from './errors';
export { ensureDatabase, migrate, prepareDatabase, createPool, MIGRATIONS_DIR } from './database';
export {
  TeamsRepository,
  ApiKeysRepository,
  generateApiKey,
  keyPrefix,
  type ApiKeyPrincipal,
  type CreatedApiKey,
  type Environment,
} from './keys';
export { EventTypesRepository, EventTypeCache, type StoredEventType } from './event-types';
export { IdempotencyRepository, IdentityLinksRepository, IDEMPOTENCY_WINDOW_HOURS, IDENTIFY_LINK_DAYS } from './ingestion';
