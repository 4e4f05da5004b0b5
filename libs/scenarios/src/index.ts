// Contacts and identity, scenarios (filters, cooldowns, delayed actions), the matcher's
// PostgreSQL writes, the durable scheduler's queue and trigger tracking. Rules and
// guarantees: docs/scenarios.md.
export { ScenariosError, type ScenariosErrorCode } from './errors';
export { durationMs } from './duration';
export { checkFilter, filterHolds, type FilterRule } from './filter';
export { checkTemplate, compileTemplate, renderPayload, type CompiledTemplate } from './template';
export { deliveryId, spreadFraction } from './ids';
export {
  normalizeEmail,
  normalizePhone,
  parseContactInput,
  contactInputSchema,
  scenarioCreateSchema,
  scenarioPatchSchema,
  parseScenarioDefinition,
  parseScenarioPatch,
  SCENARIO_STATUSES,
  type Contact,
  type ContactInput,
  type JsonMap,
  type Scenario,
  type ScenarioAction,
  type ScenarioDefinition,
  type ScenarioPatch,
  type ScenarioStatus,
  type TagFilter,
} from './model';
export {
  compileScenario,
  cooldownDetail,
  evaluationData,
  fireScenario,
  judge,
  judgeEvent,
  matchEventOf,
  parseJsonObject,
  planActions,
  tagsHold,
  type CompiledScenario,
  type Judgement,
  type MatchEvent,
  type PlannedAction,
  type PlanOptions,
  type Verdict,
} from './evaluate';
export { ContactsRepository, BUMP_CONTACT_SEQ, contactFromEvent, resolveAmong, toContact, type ContactRefInput, type IdentifierKind } from './contacts';
export { ScenariosRepository, SCENARIOS_CHANNEL } from './scenarios';
export {
  MatchStore,
  ScheduleStore,
  claimKey,
  type ActionDetail,
  type CancelledAction,
  type CooldownClaim,
  type DueAction,
  type MatchTx,
  type ScenarioDetail,
  type ScenarioOutcome,
  type ScheduledInsert,
  type TriggerRecord,
} from './match-store';
export { ContactImporter, writeLine, type ImportMessage, type ImportOptions, type ImportProgress } from './contact-import';
export { DryRun, type DryRunResult } from './dry-run';
export { TriggersRepository } from './triggers';
export { ContactResolver, ScenarioCache, type ContactResolution } from './caches';
