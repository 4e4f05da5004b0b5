import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { AuditRepository, type ApiKeyPrincipal, type AuditActor, type AuditEntry, type AuditInput } from '@relay/control-plane';
import { PG_POOL } from '../tokens';

/** The admin surface as an actor. */
export const ADMIN_ACTOR: AuditActor = { type: 'admin', name: 'admin' };

/** An API key as an actor: its visible prefix, never the key. */
export const actorOf = (principal: ApiKeyPrincipal): AuditActor => ({ type: 'api_key', name: principal.prefix });

/**
 * The audit trail for every feature module: call `record` after a change of a team's
 * configuration (event types, keys, scenarios, webhooks…). `details` is redacted before
 * it is stored (fields named like secrets, strings that look like keys or bearer values),
 * but pass only what a reviewer needs: names, versions, ids, changed field names.
 *
 *   await this.audit.record({ teamId: principal.teamId, actor: actorOf(principal),
 *     action: 'webhook.created', target: { type: 'webhook', id }, details: { url } });
 */
@Injectable()
export class AuditService {
  private readonly repo: AuditRepository;

  constructor(@Inject(PG_POOL) pool: Pool) {
    this.repo = new AuditRepository(pool);
  }

  record(input: AuditInput): Promise<AuditEntry> {
    return this.repo.record(input);
  }

  list(teamId: string, options: { limit?: number; cursor?: string; targetType?: string }): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
    return this.repo.list(teamId, options);
  }
}
