import type { Pool } from 'pg';
import type { ScenarioDetail, TriggerRecord } from './match-store';

/** Seed 003's trigger status, computed from the matcher's row and the scheduled actions. */
export interface TriggerStatus {
  id: string;
  flow_type: 'workflow';
  trigger_type: 'event';
  code_name: string;
  status: 'queued' | 'scheduled' | 'processing' | 'completed' | 'failed';
  outcome: TriggerRecord['outcome'];
  contact_id: string | null;
  created_at: string;
  started_at: string;
  completed_at: string | null;
  summary: { total_contacts: number; sent: number; failed: number; filtered: number; scheduled: number; cancelled: number };
  details_endpoint: string;
}

export interface TriggerWorkflow {
  id: string;
  status: TriggerStatus['status'];
  contact: Record<string, unknown> | null;
  scenarios: (ScenarioDetail & { actions: (ScenarioDetail['actions'][number] & { scheduled_status?: string })[] })[];
}

interface Row {
  id: string;
  code_name: string;
  outcome: TriggerRecord['outcome'];
  contact_id: string | null;
  total_contacts: number;
  sent: number;
  failed: number;
  filtered: number;
  details: TriggerRecord['details'];
  received_at: Date;
  started_at: Date;
  completed_at: Date;
}

interface ScheduledRow {
  id: string;
  status: 'pending' | 'released' | 'cancelled';
  finished_at: Date | null;
  cancel_reason: string | null;
}

export class TriggersRepository {
  constructor(private readonly pool: Pool) {}

  private async load(teamId: string, id: string): Promise<{ row: Row; scheduled: ScheduledRow[] } | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT id, code_name, outcome, contact_id, total_contacts, sent, failed, filtered, details, received_at, started_at, completed_at
         FROM triggers WHERE team_id = $1 AND id = $2`,
      [teamId, id],
    );
    const row = rows[0];
    if (!row) return null;
    const { rows: scheduled } = await this.pool.query<ScheduledRow>(
      'SELECT id, status, finished_at, cancel_reason FROM scheduled_actions WHERE team_id = $1 AND event_id = $2',
      [teamId, id],
    );
    return { row, scheduled };
  }

  async status(teamId: string, id: string, detailsBase: string): Promise<TriggerStatus | null> {
    const loaded = await this.load(teamId, id);
    if (!loaded) return null;
    const { row, scheduled } = loaded;
    const count = (s: ScheduledRow['status']) => scheduled.filter((x) => x.status === s).length;
    const pending = count('pending');
    const finished = scheduled.map((s) => s.finished_at?.getTime() ?? 0);
    const completedAt = pending > 0 ? null : new Date(Math.max(row.completed_at.getTime(), ...finished)).toISOString();
    return {
      id: row.id,
      flow_type: 'workflow',
      trigger_type: 'event',
      code_name: row.code_name,
      status: pending > 0 ? 'scheduled' : 'completed',
      outcome: row.outcome,
      contact_id: row.contact_id,
      created_at: row.received_at.toISOString(),
      started_at: row.started_at.toISOString(),
      completed_at: completedAt,
      summary: {
        total_contacts: row.total_contacts,
        sent: row.sent + count('released'),
        failed: row.failed,
        filtered: row.filtered,
        scheduled: pending,
        cancelled: count('cancelled'),
      },
      details_endpoint: `${detailsBase}/${row.id}/workflow`,
    };
  }

  async workflow(teamId: string, id: string): Promise<TriggerWorkflow | null> {
    const loaded = await this.load(teamId, id);
    if (!loaded) return null;
    const { row, scheduled } = loaded;
    const byId = new Map(scheduled.map((s) => [s.id, s]));
    const pending = scheduled.some((s) => s.status === 'pending');
    return {
      id: row.id,
      status: pending ? 'scheduled' : 'completed',
      contact: row.details.contact,
      scenarios: row.details.scenarios.map((s) => ({
        ...s,
        actions: s.actions.map((a) => {
          const job = a.delivery_id ? byId.get(a.delivery_id) : undefined;
          return job ? { ...a, scheduled_status: job.status === 'cancelled' ? `cancelled (${job.cancel_reason ?? ''})` : job.status } : a;
        }),
      })),
    };
  }
}
