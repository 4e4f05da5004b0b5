// Sample history for specs and benches: events of several types and statuses, the
// scenario runs the matcher would report, and webhook attempts with retries, all
// relative to now (rows older than the TTL may be dropped on insert).
import type { ScenarioRunInput, WebhookAttemptInput } from '../src/relations';
import type { EventHistoryInput } from '../src/types';

export interface SampleHistory {
  events: EventHistoryInput[];
  runs: ScenarioRunInput[];
  attempts: WebhookAttemptInput[];
}

const CODE_NAMES = ['store_purchase', 'cart_abandoned', 'delivered', 'signup'];
const ENDPOINTS = ['ep-crm', 'ep-sms', 'ep-slow'];

/** Deterministic pseudo-random numbers (mulberry32) so runs are comparable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` events of `teamId` spread over `spanMs` before `endMs`: ~8% rejected, ~10%
 * no_target, ~50% matched or scheduled with one or two scenario runs, the rest validated
 * with a filtered run. Matched events get 1–3 attempts to one endpoint.
 */
export function sampleHistory(opts: { teamId: string; n: number; endMs?: number; spanMs?: number; seed?: number; idPrefix?: string }): SampleHistory {
  const random = rng(opts.seed ?? 42);
  const end = opts.endMs ?? Date.now() - 60_000;
  const span = opts.spanMs ?? 6 * 3600_000;
  const prefix = opts.idPrefix ?? 'ev';
  const out: SampleHistory = { events: [], runs: [], attempts: [] };
  for (let i = 0; i < opts.n; i++) {
    const event_id = `${prefix}-${String(i).padStart(8, '0')}`;
    const received_at = end - Math.floor(random() * span);
    const code_name = CODE_NAMES[i % CODE_NAMES.length] as string;
    const email = i % 10 === 0 ? 'marie.dupont@example.com' : `c${i % 5000}@example.com`;
    const r = random();
    const environment = i % 7 === 0 ? 'staging' : 'production';
    const contact_id = `c${i % 5000}`;
    const base: EventHistoryInput = {
      event_id,
      team_id: opts.teamId,
      environment,
      code_name,
      dialect: i % 3 === 0 ? 'kafka' : 'shopimind',
      status: 'validated',
      schema_version: 1,
      contact_email: email,
      contact_id,
      visitor_id: i % 4 === 0 ? `v${i % 1000}` : null,
      payload: JSON.stringify({ contact: { email }, metaData: { order_id: i, total_amount: Math.round(random() * 20000) / 100 } }),
      received_at,
    };
    if (r < 0.08) {
      out.events.push({
        ...base,
        status: 'rejected',
        reason_code: 'INVALID_PAYLOAD',
        errors: i % 2 ? ['Missing required property: metaData.total_amount'] : ['Invalid type for property: metaData.order_id. Expected number, got string'],
      });
      continue;
    }
    if (r < 0.18) {
      out.events.push({ ...base, status: 'no_target', reason_code: 'CONTACT_NOT_FOUND', contact_id: null });
      continue;
    }
    const scheduled = r > 0.6 && r < 0.68;
    const fires = r < 0.6 || scheduled;
    const status = fires ? (scheduled ? 'scheduled' : 'matched') : 'unmatched';
    out.events.push({ ...base, status, ...(fires ? {} : { reason_code: 'NO_SCENARIO_FIRED' }) });
    const decided_at = received_at + 5 + Math.floor(random() * 20);
    const endpoint_id = ENDPOINTS[i % ENDPOINTS.length] as string;
    const delivery_id = `dl-${event_id}`;
    out.runs.push({
      event_id,
      team_id: opts.teamId,
      environment,
      code_name,
      scenario_id: `sc-${code_name}`,
      scenario_name: `On ${code_name}`,
      outcome: fires ? status : 'filtered',
      reason: fires ? '' : 'filter: rule is false',
      contact_id,
      actions: fires
        ? [
            {
              action_index: 0,
              webhook_id: endpoint_id,
              delivery_id,
              status: scheduled ? 'scheduled' : 'produced',
              due_at: scheduled ? received_at + 86_400_000 : null,
            },
          ]
        : [],
      received_at,
      decided_at,
    });
    if (i % 2 === 0) {
      out.runs.push({
        event_id,
        team_id: opts.teamId,
        environment,
        code_name,
        scenario_id: 'sc-vip',
        scenario_name: 'VIP follow-up',
        outcome: 'cooldown',
        reason: 'fired within PT24H',
        contact_id,
        actions: [],
        received_at,
        decided_at,
      });
    }
    if (fires && !scheduled) {
      const tries = random() < 0.85 ? 1 : random() < 0.7 ? 2 : 3;
      const dies = tries === 3 && random() < 0.5;
      let at = decided_at + 2 + Math.floor(random() * 30);
      for (let a = 1; a <= tries; a++) {
        const success = a === tries && !dies;
        const latency = Math.floor((endpoint_id === 'ep-slow' ? 200 : 20) + random() * 80);
        out.attempts.push({
          attempt_id: `at-${event_id}-${a}`,
          delivery_id,
          team_id: opts.teamId,
          environment,
          endpoint_id,
          event_id,
          kind: 'scenario_action',
          code_name,
          scenario_id: `sc-${code_name}`,
          attempt: a,
          outcome: success ? 'succeeded' : a === tries ? 'dead' : 'retrying',
          http_status: success ? 200 : a % 2 ? 503 : null,
          latency_ms: latency,
          error: success ? null : a % 2 ? 'HTTP 503' : 'TIMEOUT',
          occurred_at: received_at,
          delivery_created_at: decided_at,
          attempted_at: at,
        });
        at += latency + 5000;
      }
    }
  }
  return out;
}
