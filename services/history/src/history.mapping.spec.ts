import type { EventEnvelope, EventOutcome } from '@relay/contracts';
import { HistoryValidationError } from '@relay/history-store';
import { fromOutcome } from './history.mapping';

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
  });

  it('refuses an outcome whose envelope is not JSON (dead-lettered, not retried)', () => {
    expect(() => fromOutcome(outcome({ envelope_json: '{nope' }))).toThrow(HistoryValidationError);
  });
});
