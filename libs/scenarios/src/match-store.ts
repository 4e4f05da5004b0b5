import type { Pool, PoolClient } from 'pg';
import type { WebhookDelivery } from '@relay/contracts';
import { withTransaction } from '@relay/control-plane';
import type { Contact, JsonMap } from './model';

/** Why a subscribed scenario did or did not fire for one event (trigger `/workflow`). */
export type ScenarioOutcome = 'matched' | 'scheduled' | 'filtered' | 'cooldown' | 'paused' | 'stopped' | 'no_target' | 'failed';

export interface ActionDetail {
  action_index: number;
  webhook_id: string;
  delivery_id: string | null;
  /** produced: on the deliveries topic; scheduled: waiting for due_at; failed: template error. */
  status: 'produced' | 'scheduled' | 'failed';
  due_at?: string;
  error?: string;
}

export interface ScenarioDetail {
  scenario_id: string;
  name: string;
  outcome: ScenarioOutcome;
  reason?: string;
  actions: ActionDetail[];
}

export interface TriggerRecord {
  id: string;
  team_id: string;
  code_name: string;
  /** no_target, matched (something delivered now), scheduled (only later), unmatched (nothing fired). */
  outcome: 'no_target' | 'matched' | 'scheduled' | 'unmatched';
  contact_id: string | null;
  total_contacts: number;
  /** Actions produced now. */
  sent: number;
  /** Actions that could not be built (template error). */
  failed: number;
  /** Scenarios that did not fire for this contact: filters, tags, cooldown, paused/stopped. */
  filtered: number;
  scheduled: number;
  details: { contact: JsonMap | null; scenarios: ScenarioDetail[] };
  received_at: number;
  started_at: number;
  completed_at: number;
}

export interface ScheduledInsert {
  delivery: WebhookDelivery;
  due_at: number;
}

export interface CooldownClaim {
  scenario_id: string;
  contact_id: string;
  fired_at: number;
  event_id: string;
}

/** One matcher batch's writes, all in one transaction. */
export interface MatchTx {
  /**
   * Inserts contacts created by events (Sendmator user_info); returns how many were new.
   * Fewer than given means another writer created one of them meanwhile.
   */
  createContacts(contacts: { team_id: string; contact: Contact }[]): Promise<number>;
  mergeContacts(merges: { team_id: string; contact_id: string; custom_data: JsonMap; name: string | null }[]): Promise<void>;
  /** The claims granted, as `scenario_id\u0000contact_id`. */
  claimCooldowns(claims: CooldownClaim[]): Promise<Set<string>>;
  schedule(items: ScheduledInsert[]): Promise<void>;
  recordTriggers(records: TriggerRecord[]): Promise<void>;
}

export const claimKey = (scenarioId: string, contactId: string): string => `${scenarioId}\u0000${contactId}`;

const ts = (ms: number) => new Date(ms).toISOString();

/** The matcher's PostgreSQL writes. Every statement is set-based: one round trip per kind per batch. */
export class MatchStore {
  constructor(private readonly pool: Pool) {}

  async transact<T>(work: (tx: MatchTx) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (client) => work(this.txOf(client)));
  }

  private txOf(client: PoolClient): MatchTx {
    return {
      // ON CONFLICT DO NOTHING (any unique identifier): a concurrent creator wins, and the
      // caller retries the batch, which then resolves the contact it made.
      async createContacts(created) {
        if (created.length === 0) return 0;
        const { rowCount } = await client.query(
          `INSERT INTO contacts (team_id, id, external_id, email, phone, name, tags, custom_data)
           SELECT t, i, x, e, p, n, '{}', d FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
             AS u(t, i, x, e, p, n, d)
           ON CONFLICT DO NOTHING`,
          [
            created.map((c) => c.team_id),
            created.map((c) => c.contact.id),
            created.map((c) => c.contact.external_id),
            created.map((c) => c.contact.email),
            created.map((c) => c.contact.phone),
            created.map((c) => c.contact.name),
            created.map((c) => JSON.stringify(c.contact.custom_data)),
          ],
        );
        return rowCount ?? 0;
      },

      async mergeContacts(merges) {
        if (merges.length === 0) return;
        await client.query(
          `UPDATE contacts c SET custom_data = c.custom_data || u.data, name = COALESCE(u.name, c.name), updated_at = now()
             FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[]) AS u(team_id, id, data, name)
            WHERE c.team_id = u.team_id AND c.id = u.id`,
          [merges.map((m) => m.team_id), merges.map((m) => m.contact_id), merges.map((m) => JSON.stringify(m.custom_data)), merges.map((m) => m.name)],
        );
      },

      // The cooldown is one statement: insert the (scenario, contact) row, or take it over
      // only if its last firing is older than the scenario's cooldown. Concurrent claims
      // on one row are serialised by PostgreSQL (the second waits for the first to commit,
      // then re-checks the WHERE on the new row), in this instance or any other. A claim
      // by the same event is granted again, so re-processing a batch after a crash
      // re-fires the same deliveries (same delivery_id) instead of losing them.
      async claimCooldowns(claims) {
        if (claims.length === 0) return new Set();
        // Sorted so two transactions lock rows in the same order and cannot deadlock.
        const sorted = [...claims].sort((a, b) => claimKey(a.scenario_id, a.contact_id).localeCompare(claimKey(b.scenario_id, b.contact_id)));
        const { rows } = await client.query<{ scenario_id: string; contact_id: string }>(
          `INSERT INTO scenario_cooldowns AS c (scenario_id, contact_id, last_fired_at, last_event_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
           ON CONFLICT (scenario_id, contact_id) DO UPDATE
             SET last_fired_at = EXCLUDED.last_fired_at, last_event_id = EXCLUDED.last_event_id
             WHERE c.last_event_id = EXCLUDED.last_event_id
                OR c.last_fired_at <= EXCLUDED.last_fired_at
                   - (SELECT s.cooldown_ms FROM scenarios s WHERE s.id = EXCLUDED.scenario_id) * interval '1 millisecond'
           RETURNING scenario_id, contact_id`,
          [sorted.map((c) => c.scenario_id), sorted.map((c) => c.contact_id), sorted.map((c) => ts(c.fired_at)), sorted.map((c) => c.event_id)],
        );
        return new Set(rows.map((r) => claimKey(r.scenario_id, r.contact_id)));
      },

      async schedule(items) {
        if (items.length === 0) return;
        await client.query(
          `INSERT INTO scheduled_actions (id, team_id, scenario_id, event_id, action_index, due_at, delivery)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::jsonb[])
           ON CONFLICT (id) DO NOTHING`,
          [
            items.map((i) => i.delivery.delivery_id),
            items.map((i) => i.delivery.team_id),
            items.map((i) => i.delivery.scenario_id),
            items.map((i) => i.delivery.event_id),
            items.map((i) => i.delivery.action_index),
            items.map((i) => ts(i.due_at)),
            items.map((i) => JSON.stringify(i.delivery)),
          ],
        );
      },

      async recordTriggers(records) {
        if (records.length === 0) return;
        const col = <K extends keyof TriggerRecord>(k: K) => records.map((r) => r[k]);
        await client.query(
          `INSERT INTO triggers (id, team_id, code_name, outcome, contact_id, total_contacts, sent, failed, filtered, scheduled,
                                 details, received_at, started_at, completed_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[],
                                $9::int[], $10::int[], $11::jsonb[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[])
           ON CONFLICT (id) DO NOTHING`,
          [
            col('id'),
            col('team_id'),
            col('code_name'),
            col('outcome'),
            col('contact_id'),
            col('total_contacts'),
            col('sent'),
            col('failed'),
            col('filtered'),
            col('scheduled'),
            records.map((r) => JSON.stringify(r.details)),
            records.map((r) => ts(r.received_at)),
            records.map((r) => ts(r.started_at)),
            records.map((r) => ts(r.completed_at)),
          ],
        );
      },
    };
  }
}

export interface DueAction {
  id: string;
  delivery: WebhookDelivery;
  due_at: number;
  live: boolean;
}

/** A scheduled action cancelled before its release (scenario paused, stopped, deleted or found inactive). */
export interface CancelledAction {
  id: string;
  delivery: WebhookDelivery;
  /** When it was cancelled (epoch ms). */
  cancelled_at: number;
  /** paused, stopped, deleted or `scenario inactive`. */
  reason: string;
}

/**
 * The durable scheduler's queue: PostgreSQL rows claimed with FOR UPDATE SKIP LOCKED.
 * `release` holds the claimed rows locked while the caller produces them (acks=all) and
 * marks them released in the same transaction: another instance skips locked rows, and
 * a crash before COMMIT leaves them pending for the next poll (the re-produced delivery
 * carries the same delivery_id). Rows whose scenario is no longer active are cancelled
 * here too, which closes the race with a pause committing after the match.
 * `reportCancelled` then tells history about every cancellation, once.
 */
export class ScheduleStore {
  constructor(private readonly pool: Pool) {}

  async release(limit: number, produce: (due: DueAction[]) => Promise<void>): Promise<{ released: DueAction[]; cancelled: number }> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; delivery: WebhookDelivery; due_at: Date; live: boolean }>(
        `SELECT a.id, a.delivery, a.due_at, COALESCE(s.status = 'active' AND s.deleted_at IS NULL, false) AS live
           FROM scheduled_actions a LEFT JOIN scenarios s ON s.id = a.scenario_id
          WHERE a.status = 'pending' AND a.due_at <= now()
          ORDER BY a.due_at LIMIT $1
          FOR UPDATE OF a SKIP LOCKED`,
        [limit],
      );
      const due = rows.map((r) => ({ id: r.id, delivery: r.delivery, due_at: r.due_at.getTime(), live: r.live }));
      const live = due.filter((d) => d.live);
      const dead = due.filter((d) => !d.live).map((d) => d.id);
      if (live.length) await produce(live);
      if (live.length) {
        await client.query(`UPDATE scheduled_actions SET status = 'released', finished_at = now() WHERE id = ANY ($1)`, [live.map((d) => d.id)]);
      }
      if (dead.length) {
        await client.query(`UPDATE scheduled_actions SET status = 'cancelled', finished_at = now(), cancel_reason = 'scenario inactive' WHERE id = ANY ($1)`, [
          dead,
        ]);
      }
      return { released: live, cancelled: dead.length };
    });
  }

  /**
   * Hands cancelled actions not reported yet to `produce` and stamps them reported in the
   * same transaction, holding their rows locked meanwhile (SKIP LOCKED: another instance
   * takes other rows). A crash before COMMIT leaves them unreported, and the next poll
   * produces them again with the same content, which history keeps once.
   */
  async reportCancelled(limit: number, produce: (cancelled: CancelledAction[]) => Promise<void>): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; delivery: WebhookDelivery; finished_at: Date | null; cancel_reason: string | null }>(
        `SELECT id, delivery, finished_at, cancel_reason FROM scheduled_actions
          WHERE status = 'cancelled' AND cancel_reported_at IS NULL
          ORDER BY finished_at LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length) {
        await produce(
          rows.map((r) => ({ id: r.id, delivery: r.delivery, cancelled_at: (r.finished_at ?? new Date()).getTime(), reason: r.cancel_reason ?? 'cancelled' })),
        );
        await client.query(`UPDATE scheduled_actions SET cancel_reported_at = now() WHERE id = ANY ($1)`, [rows.map((r) => r.id)]);
      }
      return rows.length;
    });
  }

  /** Milliseconds until the next pending action is due (null when none), to sleep no longer than needed. */
  async nextDueInMs(): Promise<number | null> {
    const { rows } = await this.pool.query<{ ms: string | null }>(
      `SELECT (EXTRACT(EPOCH FROM (min(due_at) - now())) * 1000)::bigint AS ms FROM scheduled_actions WHERE status = 'pending'`,
    );
    const ms = rows[0]?.ms;
    return ms == null ? null : Math.max(0, Number(ms));
  }
}
