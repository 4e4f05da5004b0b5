import { openTempStore, type TempStore } from '../test/embedded';
import { HistoryQueries, type EventHistoryWithRelations } from './queries';
import type { DeliveryView, ScenarioRunView } from './relations';
import { triggerStatus, triggerWorkflow, type TriggerStatusView } from './trigger-status';
import { insertEvents, insertScenarioRuns, insertWebhookAttempts } from './writer';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const RECEIVED = at(-60_000);
const DECIDED = at(-59_000);

type Action = ScenarioRunView['actions'][number];

const action = (delivery_id: string | null, status = 'produced', extra: Partial<Action> = {}): Action => ({
  action_index: 0,
  webhook_id: 'wh-1',
  delivery_id,
  status,
  due_at: null,
  error: null,
  ...extra,
});

const run = (outcome: string, actions: Action[] = [], extra: Partial<ScenarioRunView> = {}): ScenarioRunView => ({
  scenario_id: `s-${outcome}`,
  name: outcome,
  outcome,
  reason: ['matched', 'scheduled'].includes(outcome) ? '' : `why ${outcome}`,
  actions,
  contact_id: outcome === 'no_target' ? null : 'c-1',
  decided_at: DECIDED,
  ...extra,
});

const delivery = (delivery_id: string, status: DeliveryView['status'], extra: Partial<DeliveryView> = {}): DeliveryView => {
  const attempted = !['pending', 'scheduled'].includes(status);
  return {
    delivery_id,
    endpoint_id: 'wh-1',
    kind: 'scenario_action',
    scenario_id: 's-matched',
    status,
    attempts: status === 'cancelled' || !attempted ? 0 : 1,
    last_http_status: status === 'delivered' ? 200 : null,
    last_error: null,
    first_attempt_at: attempted ? at(-30_000) : null,
    last_attempt_at: attempted ? at(-30_000) : null,
    due_at: null,
    ...extra,
  };
};

const event = (
  status: string,
  runs: ScenarioRunView[] = [],
  deliveries: DeliveryView[] = [],
  extra: Partial<EventHistoryWithRelations> = {},
): EventHistoryWithRelations => ({
  event_id: 'ev-1',
  team_id: 'team-a',
  environment: 'production',
  code_name: 'order.created',
  dialect: 'shopimind',
  status,
  status_rank: 0,
  reason_code: '',
  errors: [],
  schema_version: 1,
  contact_id: 'ref-as-sent',
  contact_email: null,
  contact_phone: null,
  visitor_id: null,
  resolved_contact_id: null,
  payload: '{}',
  received_at: RECEIVED,
  recorded_at: at(-58_000),
  scenario_runs: runs,
  deliveries,
  ...extra,
});

const status = (e: EventHistoryWithRelations) => triggerStatus(e, { now: NOW, detailsBase: '/triggers' });
const zero = { total_contacts: 0, sent: 0, failed: 0, filtered: 0, scheduled: 0, cancelled: 0, pending: 0 };

describe('triggerStatus', () => {
  const rows: { name: string; event: EventHistoryWithRelations; expected: Partial<TriggerStatusView> }[] = [
    {
      name: 'rejected by the validator → failed, with its errors',
      event: event('rejected', [], [], { errors: ['Missing required property: metaData.total'] }),
      expected: { status: 'failed', errors: ['Missing required property: metaData.total'], summary: zero, started_at: null, completed_at: null },
    },
    {
      name: 'validated, no scenario run → queued (the matcher has not decided)',
      event: event('validated'),
      expected: { status: 'queued', summary: zero, contact_id: null, started_at: null, completed_at: null },
    },
    {
      name: 'unmatched, no scenario subscribed (no run) → completed when history recorded the decision, with the resolved contact',
      event: event('unmatched', [], [], { reason_code: 'NO_SCENARIO_SUBSCRIBED', resolved_contact_id: 'c-9' }),
      expected: { status: 'completed', contact_id: 'c-9', summary: { ...zero, total_contacts: 1 }, started_at: at(-58_000), completed_at: at(-58_000) },
    },
    {
      name: 'unmatched with runs that all did not fire → completed, filtered counts each',
      event: event('unmatched', [run('filtered'), run('cooldown'), run('paused'), run('stopped')], [], { reason_code: 'NO_SCENARIO_FIRED' }),
      expected: { status: 'completed', summary: { ...zero, total_contacts: 1, filtered: 4 }, started_at: DECIDED, completed_at: DECIDED },
    },
    {
      name: 'validated with runs (as a matcher before the unmatched status wrote it) → decided, completed',
      event: event('validated', [run('filtered')]),
      expected: { status: 'completed', summary: { ...zero, total_contacts: 1, filtered: 1 }, started_at: DECIDED },
    },
    {
      name: 'no_target → completed, no contact',
      event: event('no_target', [run('no_target')]),
      expected: { status: 'completed', outcome: 'no_target', contact_id: null, summary: zero, started_at: DECIDED },
    },
    {
      name: 'no_target without any run → completed when history recorded it',
      event: event('no_target'),
      expected: { status: 'completed', summary: zero, started_at: at(-58_000), completed_at: at(-58_000) },
    },
    {
      name: 'matched, but its scenario runs not readable yet → processing',
      event: event('matched'),
      expected: { status: 'processing', started_at: null, completed_at: null },
    },
    {
      name: 'produced, no attempt yet → processing, pending',
      event: event('matched', [run('matched', [action('d1')]), run('filtered')], [delivery('d1', 'pending')]),
      expected: { status: 'processing', contact_id: 'c-1', summary: { ...zero, total_contacts: 1, pending: 1, filtered: 1 }, completed_at: null },
    },
    {
      name: 'retrying → processing, pending',
      event: event('matched', [run('matched', [action('d1')])], [delivery('d1', 'retrying', { attempts: 2, last_http_status: 500 })]),
      expected: { status: 'processing', summary: { ...zero, total_contacts: 1, pending: 1 } },
    },
    {
      name: 'delivered → completed, sent, completed at the last attempt',
      event: event('matched', [run('matched', [action('d1')])], [delivery('d1', 'delivered')]),
      expected: { status: 'completed', summary: { ...zero, total_contacts: 1, sent: 1 }, started_at: DECIDED, completed_at: at(-30_000) },
    },
    {
      name: 'dead delivery and an action that could not be built → completed, failed counts both',
      event: event(
        'matched',
        [run('matched', [action('d1'), action(null, 'failed', { action_index: 1, error: 'template: bad' })])],
        [delivery('d1', 'failed', { attempts: 5, last_http_status: 503 })],
      ),
      expected: { status: 'completed', summary: { ...zero, total_contacts: 1, failed: 2 } },
    },
    {
      name: 'scheduled for later → scheduled',
      event: event(
        'scheduled',
        [run('scheduled', [action('d1', 'scheduled', { due_at: at(3_600_000) })])],
        [delivery('d1', 'scheduled', { due_at: at(3_600_000) })],
      ),
      expected: { status: 'scheduled', summary: { ...zero, total_contacts: 1, scheduled: 1 }, completed_at: null },
    },
    {
      name: 'scheduled, due, not attempted yet → processing, pending',
      event: event('scheduled', [run('scheduled', [action('d1', 'scheduled', { due_at: at(-1_000) })])], [delivery('d1', 'scheduled', { due_at: at(-1_000) })]),
      expected: { status: 'processing', summary: { ...zero, total_contacts: 1, pending: 1 } },
    },
    {
      name: 'one delivered now, one scheduled later → scheduled',
      event: event(
        'scheduled',
        [run('matched', [action('d1'), action('d2', 'scheduled', { action_index: 1, due_at: at(60_000) })])],
        [delivery('d1', 'delivered'), delivery('d2', 'scheduled', { due_at: at(60_000) })],
      ),
      expected: { status: 'scheduled', summary: { ...zero, total_contacts: 1, sent: 1, scheduled: 1 } },
    },
    {
      name: 'scheduled then cancelled → completed, cancelled, completed at the cancellation',
      event: event(
        'scheduled',
        [run('scheduled', [action('d1', 'scheduled', { due_at: at(3_600_000) })])],
        [delivery('d1', 'cancelled', { last_error: 'paused', last_attempt_at: at(-10_000), first_attempt_at: at(-10_000) })],
      ),
      expected: { status: 'completed', summary: { ...zero, total_contacts: 1, cancelled: 1 }, completed_at: at(-10_000) },
    },
    {
      name: 'a subscription delivery counts like an action; a Relay notice does not',
      event: event(
        'matched',
        [run('matched', [action('d1')])],
        [
          delivery('d1', 'delivered'),
          delivery('sub-1', 'retrying', { kind: 'subscription', scenario_id: null }),
          delivery('n-1', 'delivered', { kind: 'relay', scenario_id: null }),
        ],
      ),
      expected: { status: 'processing', summary: { ...zero, total_contacts: 1, sent: 1, pending: 1 } },
    },
  ];

  it.each(rows)('$name', ({ event: e, expected }) => {
    expect(status(e)).toMatchObject(expected);
  });

  it('every action and subscription delivery lands in exactly one count', () => {
    for (const { event: e } of rows) {
      const { summary } = status(e);
      const actions = e.scenario_runs.flatMap((r) => r.actions).length;
      const subscriptions = e.deliveries.filter((d) => d.kind === 'subscription').length;
      expect(summary.sent + summary.failed + summary.scheduled + summary.cancelled + summary.pending).toBe(actions + subscriptions);
    }
  });

  it('keeps the shape of seed 003 and links the workflow under the caller’s prefix', () => {
    const e = event('matched', [run('matched', [action('d1')])], [delivery('d1', 'delivered')]);
    expect(status(e)).toEqual({
      id: 'ev-1',
      flow_type: 'workflow',
      trigger_type: 'event',
      code_name: 'order.created',
      status: 'completed',
      outcome: 'matched',
      contact_id: 'c-1',
      created_at: RECEIVED,
      started_at: DECIDED,
      completed_at: at(-30_000),
      summary: { ...zero, total_contacts: 1, sent: 1 },
      details_endpoint: '/triggers/ev-1/workflow',
    });
    expect(triggerStatus(e, { now: NOW, detailsBase: '/v1/triggers' }).details_endpoint).toBe('/v1/triggers/ev-1/workflow');
  });
});

describe('triggerWorkflow', () => {
  it('gives each scenario run its actions with their delivery state', () => {
    const e = event(
      'scheduled',
      [
        run('matched', [
          action('d1'),
          action(null, 'failed', { action_index: 1, error: 'template: bad' }),
          action('d2', 'scheduled', { action_index: 2, due_at: at(-5_000) }),
          action('d3', 'scheduled', { action_index: 3, due_at: at(5_000) }),
          action('d4', 'scheduled', { action_index: 4, due_at: at(5_000) }),
        ]),
        run('filtered'),
      ],
      [
        delivery('d1', 'delivered'),
        delivery('d2', 'scheduled', { due_at: at(-5_000) }),
        delivery('d3', 'scheduled', { due_at: at(5_000) }),
        delivery('d4', 'cancelled', { last_error: 'deleted' }),
        delivery('sub-1', 'failed', { kind: 'subscription', scenario_id: null, endpoint_id: 'wh-2', attempts: 5, last_http_status: 410 }),
      ],
    );
    const workflow = triggerWorkflow(e, { now: NOW });
    expect(workflow.status).toBe('processing');
    const [matched, filtered] = workflow.scenarios;
    expect(filtered).toEqual({ scenario_id: 's-filtered', name: 'filtered', outcome: 'filtered', reason: 'why filtered', decided_at: DECIDED, actions: [] });
    expect(matched?.reason).toBeNull();
    expect(matched?.actions.map((a) => [a.delivery_id, a.planned, a.status, a.attempts, a.last_http_status, a.last_error, a.due_at])).toEqual([
      ['d1', 'produced', 'delivered', 1, 200, null, null],
      [null, 'failed', 'failed', 0, null, null, null],
      ['d2', 'scheduled', 'pending', 0, null, null, at(-5_000)],
      ['d3', 'scheduled', 'scheduled', 0, null, null, at(5_000)],
      ['d4', 'scheduled', 'cancelled', 0, null, 'deleted', at(5_000)],
    ]);
    expect(matched?.actions[1]?.error).toBe('template: bad');
    expect(workflow.subscriptions).toEqual([
      { delivery_id: 'sub-1', endpoint_id: 'wh-2', status: 'failed', attempts: 5, last_http_status: 410, last_error: null },
    ]);
  });

  it('is queued with nothing to show before the matcher decides', () => {
    expect(triggerWorkflow(event('validated'), { now: NOW })).toEqual({ id: 'ev-1', status: 'queued', scenarios: [], subscriptions: [] });
  });
});

describe('trigger status from the store', () => {
  let store: TempStore;
  beforeAll(async () => {
    store = await openTempStore();
  });
  afterAll(async () => {
    await store.cleanup();
  });

  it('reads a cancellation recorded in webhook_attempts as a cancelled action', async () => {
    const now = Date.now();
    const received = now - 60_000;
    const base = { event_id: 'ev-cancel', team_id: 'team-t', code_name: 'order.created', received_at: received };
    await insertEvents(store.client, [{ ...base, status: 'scheduled', contact_id: 'c-1' }]);
    await insertScenarioRuns(store.client, [
      {
        ...base,
        scenario_id: 's-1',
        scenario_name: 'later',
        outcome: 'scheduled',
        contact_id: 'c-1',
        actions: [
          { action_index: 0, webhook_id: 'wh-1', delivery_id: 'd-cancel', status: 'scheduled', due_at: now + 86_400_000 },
          { action_index: 1, webhook_id: 'wh-1', delivery_id: 'd-later', status: 'scheduled', due_at: now + 86_400_000 },
        ],
        decided_at: received + 1000,
      },
    ]);
    await insertWebhookAttempts(store.client, [
      {
        attempt_id: 'd-cancel.cancelled',
        delivery_id: 'd-cancel',
        team_id: 'team-t',
        endpoint_id: 'wh-1',
        event_id: 'ev-cancel',
        kind: 'scenario_action',
        scenario_id: 's-1',
        attempt: 0,
        outcome: 'cancelled',
        latency_ms: 0,
        error: 'paused',
        attempted_at: now - 1000,
      },
    ]);
    const queries = new HistoryQueries(store.client);
    const row = await queries.getEvent('team-t', 'ev-cancel');
    const [withRelations] = await queries.attachRelations('team-t', row ? [row] : []);
    if (!withRelations) throw new Error('event not found');
    expect(withRelations.deliveries.find((d) => d.delivery_id === 'd-cancel')).toMatchObject({ status: 'cancelled', attempts: 0, last_error: 'paused' });
    expect(withRelations.scenario_runs[0]?.contact_id).toBe('c-1');
    expect(triggerStatus(withRelations, { now, detailsBase: '/triggers' })).toMatchObject({
      status: 'scheduled',
      contact_id: 'c-1',
      summary: { total_contacts: 1, sent: 0, scheduled: 1, cancelled: 1, pending: 0 },
    });
  });

  it('says the same as the event history about an action that fell due: pending in both', async () => {
    const now = Date.now();
    const received = now - 3_600_000;
    const base = { event_id: 'ev-due', team_id: 'team-t', code_name: 'order.created', received_at: received };
    await insertEvents(store.client, [{ ...base, status: 'scheduled', contact_id: 'c-1' }]);
    await insertScenarioRuns(store.client, [
      {
        ...base,
        scenario_id: 's-1',
        scenario_name: 'in ten minutes',
        outcome: 'scheduled',
        contact_id: 'c-1',
        actions: [{ action_index: 0, webhook_id: 'wh-1', delivery_id: 'd-due', status: 'scheduled', due_at: now - 60_000 }],
        decided_at: received + 1000,
      },
    ]);
    const queries = new HistoryQueries(store.client);
    const row = await queries.getEvent('team-t', 'ev-due');
    const [event] = await queries.attachRelations('team-t', row ? [row] : [], now);
    if (!event) throw new Error('event not found');
    expect(event.deliveries.map((d) => [d.delivery_id, d.status])).toEqual([['d-due', 'pending']]);
    expect(triggerWorkflow(event, { now }).scenarios[0]?.actions.map((a) => a.status)).toEqual(['pending']);
    expect(triggerStatus(event, { now, detailsBase: '/triggers' })).toMatchObject({ status: 'processing', summary: { scheduled: 0, pending: 1 } });
    // Before its due time, both say scheduled.
    const [earlier] = await queries.attachRelations('team-t', row ? [row] : [], now - 120_000);
    expect(earlier?.deliveries.map((d) => d.status)).toEqual(['scheduled']);
  });
});
