import type { EventEnvelope, EventOutcome, RejectedEvent, WebhookAttempt } from '@relay/contracts';
import { triggerBodyFromEnvelope } from '@relay/event-schema';
import { HistoryValidationError, type EventHistoryInput, type ScenarioRunInput, type WebhookAttemptInput } from '@relay/history-store';

/**
 * The serialized payload kept in history: the event in seed 000's trigger shape
 * (contact, visitor, metaData, customData), whatever dialect it came in. A slot that is
 * not JSON (possible only on the rejected path) keeps the raw envelope instead.
 */
export function payloadOf(envelope: EventEnvelope): string {
  const errors: string[] = [];
  const body = triggerBodyFromEnvelope(envelope, errors);
  return JSON.stringify(errors.length === 0 ? body : { raw_envelope: envelope });
}

export function fromValidated(envelope: EventEnvelope): EventHistoryInput {
  return {
    event_id: envelope.event_id,
    team_id: envelope.team_id,
    environment: envelope.environment,
    code_name: envelope.code_name,
    dialect: envelope.dialect,
    status: 'validated',
    schema_version: envelope.schema_version,
    contact_id: envelope.contact?.id ?? null,
    contact_email: envelope.contact?.email ?? null,
    contact_phone: envelope.contact?.phone ?? null,
    visitor_id: envelope.visitor?.id ?? null,
    payload: payloadOf(envelope),
    received_at: envelope.received_at,
  };
}

export function fromRejected(rejected: RejectedEvent): EventHistoryInput {
  let envelope: EventEnvelope | null = null;
  try {
    envelope = JSON.parse(rejected.envelope_json) as EventEnvelope;
  } catch {
    envelope = null;
  }
  return {
    event_id: rejected.event_id,
    team_id: rejected.team_id,
    environment: rejected.environment,
    code_name: rejected.code_name,
    dialect: rejected.dialect,
    status: 'rejected',
    reason_code: rejected.reason_code,
    errors: rejected.errors,
    schema_version: rejected.schema_version,
    contact_id: envelope?.contact?.id ?? null,
    contact_email: envelope?.contact?.email ?? null,
    contact_phone: envelope?.contact?.phone ?? null,
    visitor_id: envelope?.visitor?.id ?? null,
    payload: envelope ? payloadOf(envelope) : rejected.envelope_json,
    received_at: rejected.received_at,
  };
}

/**
 * The matcher's decision (matched, scheduled, unmatched, no_target) as the event's row: the
 * whole validated row again with the new status and the contact it resolved, since
 * ReplacingMergeTree keeps one full row per event (the highest status rank).
 */
export function fromOutcome(outcome: EventOutcome): EventHistoryInput {
  return {
    ...fromValidated(envelopeOf(outcome)),
    status: outcome.status,
    reason_code: outcome.reason_code,
    resolved_contact_id: outcome.contact_id ?? null,
  };
}

function envelopeOf(outcome: EventOutcome): EventEnvelope {
  try {
    return JSON.parse(outcome.envelope_json) as EventEnvelope;
  } catch {
    throw new HistoryValidationError('INVALID_ROW', `outcome of ${outcome.event_id}: envelope_json is not JSON`);
  }
}

/** One scenario_runs row per scenario the matcher judged for the event (none from older matchers). */
export function scenarioRunsOf(outcome: EventOutcome): ScenarioRunInput[] {
  const runs = outcome.scenario_runs ?? [];
  if (runs.length === 0) return [];
  const envelope = envelopeOf(outcome);
  return runs.map((run) => ({
    event_id: outcome.event_id,
    team_id: outcome.team_id,
    environment: envelope.environment,
    code_name: envelope.code_name,
    scenario_id: run.scenario_id,
    scenario_name: run.name,
    outcome: run.outcome,
    reason: run.reason,
    contact_id: outcome.contact_id,
    actions: run.actions,
    received_at: envelope.received_at,
    decided_at: outcome.decided_at,
  }));
}

export function fromAttempt(a: WebhookAttempt): WebhookAttemptInput {
  return { ...a, kind: a.kind ?? '', environment: a.environment ?? 'production' };
}
