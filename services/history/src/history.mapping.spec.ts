import type { EventEnvelope, EventOutcome, WebhookAttempt } from '@relay/contracts';
import { HistoryValidationError } from '@relay/history-store';
import { fromAttempt, fromOutcome, scenarioRunsOf } from './history.mapping';

const envelope = {
  event_id: 'e1',
  team_id: 't1',
  environment: 'production',
  code_name: 'store_purchase',
  dialect: 'shopimind',
  received_at: 1_700_000_000_000,
  contact: { id: null, email: 'a@b.com', phone: null, custom_data_json: null },
  visitor: null,
  meta_data_json: '{"order_id":1}',
  custom_data_json: null,
  schema_version: 2,
} as unknown as EventEnvelope;

const outcome = (over: Partial<EventOutcome> = {}): EventOutcome => ({
  event_id: 'e1',
  team_id: 't1',
  status: 'no_target',
  reason_code: 'CONTACT_NOT_FOUND',
  contact_id: null,
  scenario_runs: [],
  scenarios_fired: 0,
  deliveries: 0,
  scheduled: 0,
  decided_at: 1_700_000_000_100,
  envelope_json: JSON.stringify(envelope),
  ...over,
});

describe('fromOutcome', () => {
  it('rewrites the whole validated row with the matcher status and reason', () => {
    expect(fromOutcome(outcome())).toMatchObject({
      event_id: 'e1',
      status: 'no_target',
      reason_code: 'CONTACT_NOT_FOUND',
      contact_email: 'a@b.com',
      schema_version: 2,
      received_at: 1_700_000_000_000,
      payload: JSON.stringify({ contact: { email: 'a@b.com' }, metaData: { order_id: 1 } }),
    });
    expect(fromOutcome(outcome({ status: 'scheduled', reason_code: '' })).status).toBe('scheduled');
    expect(fromOutcome(outcome()).resolved_contact_id).toBeNull();
    expect(fromOutcome(outcome({ status: 'unmatched', reason_code: 'NO_SCENARIO_SUBSCRIBED', contact_id: 'c-7' }))).toMatchObject({
      status: 'unmatched',
      resolved_contact_id: 'c-7',
      contact_email: 'a@b.com',
    });
  });

  it('refuses an outcome whose envelope is not JSON (dead-lettered, not retried)', () => {
    expect(() => fromOutcome(outcome({ envelope_json: '{nope' }))).toThrow(HistoryValidationError);
  });
});

describe('scenarioRunsOf', () => {
  it('makes one row per judged scenario with the event time and actions', () => {
    const rows = scenarioRunsOf(
      outcome({
        status: 'matched',
        reason_code: '',
        contact_id: 'c1',
        scenario_runs: [
          {
            scenario_id: 's1',
            name: 'Review',
            outcome: 'matched',
            reason: '',
            actions: [{ action_index: 0, webhook_id: 'w1', delivery_id: 'd1', status: 'produced', due_at: null, error: null }],
          },
          { scenario_id: 's2', name: 'VIP', outcome: 'filtered', reason: 'filter: false', actions: [] },
        ],
      }),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      event_id: 'e1',
      scenario_id: 's1',
      code_name: 'store_purchase',
      environment: 'production',
      received_at: 1_700_000_000_000,
      decided_at: 1_700_000_000_100,
      contact_id: 'c1',
    });
    expect(rows[1]).toMatchObject({ outcome: 'filtered', reason: 'filter: false', actions: [] });
  });

  it('writes nothing for outcomes without scenario runs', () => {
    expect(scenarioRunsOf(outcome())).toEqual([]);
  });
});

describe('fromAttempt', () => {
  it('keeps every field of the attempt record', () => {
    const a: WebhookAttempt = {
      attempt_id: 'a1',
      delivery_id: 'd1',
      team_id: 't1',
      endpoint_id: 'w1',
      event_id: 'e1',
      attempt: 2,
      outcome: 'retrying',
      http_status: 503,
      latency_ms: 12,
      error: 'HTTP 503',
      response_snippet: null,
      attempted_at: 1_700_000_000_500,
      kind: 'subscription',
      environment: 'staging',
      code_name: 'store_purchase',
      scenario_id: null,
      occurred_at: 1_700_000_000_000,
      delivery_created_at: 1_700_000_000_050,
    };
    expect(fromAttempt(a)).toMatchObject({ attempt_id: 'a1', environment: 'staging', http_status: 503, occurred_at: 1_700_000_000_000 });
  });
});
