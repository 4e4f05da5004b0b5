import avro from 'avsc';
import { loadSchema, type WebhookDelivery } from '@relay/contracts';
import { cancellationRecord } from './scheduler';

const delivery: WebhookDelivery = {
  delivery_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  team_id: 'team-a',
  environment: 'production',
  endpoint_id: 'wh-1',
  kind: 'scenario_action',
  action: 'order.created',
  event_id: 'ev-1',
  code_name: 'order.created',
  scenario_id: 's-1',
  action_index: 0,
  contact_json: null,
  payload_json: '{}',
  occurred_at: 1_700_000_000_000,
  created_at: 1_700_000_001_000,
};

describe('cancellationRecord', () => {
  const record = cancellationRecord({ id: delivery.delivery_id, delivery, cancelled_at: 1_700_000_100_000, reason: 'paused' });

  it('is a webhook attempt with outcome cancelled: attempt 0, no HTTP status, latency 0, the reason as error', () => {
    expect(record).toMatchObject({
      delivery_id: delivery.delivery_id,
      event_id: 'ev-1',
      endpoint_id: 'wh-1',
      scenario_id: 's-1',
      kind: 'scenario_action',
      attempt: 0,
      outcome: 'cancelled',
      http_status: null,
      latency_ms: 0,
      error: 'paused',
      attempted_at: 1_700_000_100_000,
      occurred_at: delivery.occurred_at,
      delivery_created_at: delivery.created_at,
    });
  });

  it('is the same record when reported again (history keeps it once)', () => {
    expect(cancellationRecord({ id: delivery.delivery_id, delivery, cancelled_at: 1_700_000_100_000, reason: 'paused' })).toEqual(record);
  });

  it('fits the WebhookAttempt schema', () => {
    const type = avro.Type.forSchema(loadSchema('WebhookAttempt') as avro.Schema);
    expect(type.isValid(record)).toBe(true);
  });
});
