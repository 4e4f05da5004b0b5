// Public surface of the history store: client (server or embedded chDB), migrations,
// batched writer, paginated reads of the `events` table and the trigger status computed
// from them.
export { createHistoryClient, type HistoryBackend, type HistoryClient, type HistoryClientOptions } from './client';
export {
  applyRetention,
  DEFAULT_MIGRATIONS_DIR,
  DEFAULT_RETENTION_DAYS,
  loadMigrations,
  MigrationChecksumError,
  RETENTION_TABLES,
  runMigrations,
  type MigrationFile,
  type MigrationOptions,
  type MigrationResult,
} from './migrations';
export {
  HistoryWriter,
  insertEvents,
  insertScenarioRuns,
  insertWebhookAttempts,
  ScenarioRunWriter,
  TableWriter,
  WebhookAttemptWriter,
  type HistoryTable,
  type HistoryWriterOptions,
} from './writer';
export { DEFAULT_PAGE_LIMIT, HistoryQueries, MAX_PAGE_LIMIT, type EventHistoryWithRelations } from './queries';
export { historyFiltersQuery, type HistoryFiltersQuery } from './query-schema';
export {
  statusClassOf,
  type DeliveryView,
  type ScenarioRunActionInput,
  type ScenarioRunInput,
  type ScenarioRunView,
  type WebhookAttemptInput,
} from './relations';
export {
  triggerStatus,
  triggerWorkflow,
  type ActionState,
  type TriggerState,
  type TriggerStatusOptions,
  type TriggerStatusView,
  type TriggerSummary,
  type TriggerTiming,
  type TriggerWorkflowView,
  type WorkflowAction,
  type WorkflowScenario,
  type WorkflowSubscription,
} from './trigger-status';
export { formatTable, readOnlyStatement, ReadOnlySqlError, runReadOnlySql, runTeamSql, TEAM_TABLES, TeamSqlError, teamSqlRefusal, type SqlResult } from './sql';
export {
  EVENT_STATUS_RANK,
  HistoryValidationError,
  type EventHistoryInput,
  type EventHistoryPage,
  type EventHistoryRow,
  type EventStatus,
  type HistoryValidationErrorCode,
  type ListEventHistoriesParams,
  type Timestamp,
} from './types';
