import { Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import {
  ApiKeysRepository,
  TeamsRepository,
  rateLimitView,
  type ApiKeyRecord,
  type AuditEntry,
  type KeyTransition,
  type RateLimitView,
  type Team,
} from '@relay/control-plane';
import { ADMIN_ACTOR, AuditService } from '../audit/audit.service';
import { ZodAnswer, ZodBody, ZodQuery } from '@relay/http-api';
import { z } from 'zod';
import { auditPage, createdKeyView, keyView as keyAnswer, rotatedKeyView, teamView as teamAnswer } from '../http/answers';
import { ApiError } from '../http/api-error';
import {
  auditQuerySchema,
  createKeySchema,
  createTeamSchema,
  rotateKeySchema,
  type AuditQuery,
  type CreateKeyInput,
  type CreateTeamInput,
  type RotateKeyInput,
} from './admin.dto';

import { AdminRoutes } from '../http/routes';

export type TeamView = Omit<Team, 'rate_limit'> & { rate_limit: RateLimitView | null };
export type KeyView = Omit<ApiKeyRecord, 'rate_limit'> & { rate_limit: RateLimitView | null };

const teamView = (t: Team): TeamView => ({ ...t, rate_limit: rateLimitView(t.rate_limit) });
const keyView = (k: ApiKeyRecord): KeyView => ({ ...k, rate_limit: rateLimitView(k.rate_limit) });

/**
 * Teams, API keys and the audit trail, for operators: `Authorization: Bearer
 * <RELAY_ADMIN_TOKEN>`. `npm run relay` is a thin client of these routes.
 */
@AdminRoutes('admin/v1')
export class AdminController {
  constructor(
    @Inject(TeamsRepository) private readonly teams: TeamsRepository,
    @Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Post('teams')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a team: {"name", "plan"?, "rate_limit"?}' })
  @ZodAnswer(201, teamAnswer)
  async createTeam(@ZodBody(createTeamSchema) body: CreateTeamInput): Promise<TeamView> {
    const { name, plan, rate_limit: rateLimit } = body;
    const team = await this.teams.create(name, undefined, { ...(plan ? { plan } : {}), rateLimit });
    await this.audit.record({
      teamId: team.id,
      actor: ADMIN_ACTOR,
      action: 'team.created',
      target: { type: 'team', id: team.id },
      details: { name: team.name, plan: team.plan, rate_limit: rateLimitView(team.rate_limit) },
    });
    return teamView(team);
  }

  @Get('teams')
  @ApiOperation({ summary: 'List teams, newest first' })
  @ZodAnswer(200, z.object({ data: z.array(teamAnswer) }))
  async listTeams(): Promise<{ data: TeamView[] }> {
    return { data: (await this.teams.list()).map(teamView) };
  }

  @Get('teams/:id')
  @ApiOperation({ summary: 'One team' })
  @ZodAnswer(200, teamAnswer)
  async getTeam(@Param('id') id: string): Promise<TeamView> {
    return teamView(await this.team(id));
  }

  @Post('teams/:id/keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an API key; the key is in this response only' })
  @ZodAnswer(201, createdKeyView)
  async createKey(@Param('id') teamId: string, @ZodBody(createKeySchema) input: CreateKeyInput): Promise<KeyView & { key: string }> {
    await this.team(teamId);
    const created = await this.keys.create(teamId, input.environment, {
      name: input.name ?? null,
      rateLimit: input.rate_limit,
      expiresAt: input.expires_at ? new Date(input.expires_at) : null,
    });
    const record = await this.keyRecord(created.keyId);
    await this.audit.record({
      teamId,
      actor: ADMIN_ACTOR,
      action: 'key.created',
      target: { type: 'api_key', id: created.keyId },
      details: {
        prefix: created.prefix,
        environment: input.environment,
        name: input.name ?? null,
        rate_limit: rateLimitView(input.rate_limit),
        expires_at: record.expires_at,
      },
    });
    return { ...keyView(record), key: created.key };
  }

  @Get('teams/:id/keys')
  @ApiOperation({ summary: "The team's keys (prefix, status, dates); never the key or its hash" })
  @ZodAnswer(200, z.object({ data: z.array(keyAnswer) }))
  async listKeys(@Param('id') teamId: string): Promise<{ data: KeyView[] }> {
    await this.team(teamId);
    return { data: (await this.keys.list(teamId)).map(keyView) };
  }

  @Post('keys/:id/deactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'active → deactivated (401 until re-activated)' })
  @ZodAnswer(200, keyAnswer)
  deactivate(@Param('id') id: string): Promise<KeyView> {
    return this.transition(id, 'deactivate');
  }

  @Post('keys/:id/activate')
  @HttpCode(200)
  @ApiOperation({ summary: 'deactivated → active; a revoked key cannot be re-activated (409)' })
  @ZodAnswer(200, keyAnswer)
  activate(@Param('id') id: string): Promise<KeyView> {
    return this.transition(id, 'activate');
  }

  @Post('keys/:id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke for good (401 on every gateway within the key cache bound)' })
  @ZodAnswer(200, keyAnswer)
  revoke(@Param('id') id: string): Promise<KeyView> {
    return this.transition(id, 'revoke');
  }

  @Post('keys/:id/rotate')
  @HttpCode(201)
  @ApiOperation({ summary: 'New key for the same team/environment/limit; the old one stops after {"overlap"} (default at once)' })
  @ZodAnswer(201, rotatedKeyView)
  async rotate(@Param('id') id: string, @ZodBody(rotateKeySchema) body: RotateKeyInput): Promise<KeyView & { key: string; previous: KeyView }> {
    const { created, old } = await this.keys.rotate(id, body.overlap ?? 0);
    const record = await this.keyRecord(created.keyId);
    await this.audit.record({
      teamId: created.teamId,
      actor: ADMIN_ACTOR,
      action: 'key.rotated',
      target: { type: 'api_key', id: old.id },
      details: { prefix: old.prefix, new_key_id: created.keyId, new_prefix: created.prefix, old_key_stops_at: old.expires_at ?? old.status_changed_at },
    });
    return { ...keyView(record), key: created.key, previous: keyView(old) };
  }

  @Get('teams/:id/audit')
  @ApiOperation({ summary: "The team's audit trail, newest first (limit ≤ 500, cursor, target_type)" })
  @ZodAnswer(200, auditPage)
  async auditTrail(
    @Param('id') teamId: string,
    @ZodQuery(auditQuerySchema) { limit, cursor, target_type: targetType }: AuditQuery,
  ): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
    await this.team(teamId);
    return this.audit.list(teamId, { limit, ...(cursor ? { cursor } : {}), ...(targetType ? { targetType } : {}) });
  }

  private async transition(id: string, action: KeyTransition): Promise<KeyView> {
    const { key, changed, from } = await this.keys.transition(id, action);
    if (changed) {
      await this.audit.record({
        teamId: key.team_id,
        actor: ADMIN_ACTOR,
        action: `key.${action}d`,
        target: { type: 'api_key', id: key.id },
        details: { prefix: key.prefix, from, to: key.status },
      });
    }
    return keyView(key);
  }

  private async team(id: string): Promise<Team> {
    const team = await this.teams.get(id);
    if (!team) throw ApiError.notFound('TEAM_NOT_FOUND', `Team not found: ${id}`);
    return team;
  }

  private async keyRecord(id: string): Promise<ApiKeyRecord> {
    const key = await this.keys.get(id);
    if (!key) throw ApiError.notFound('KEY_NOT_FOUND', `API key not found: ${id}`);
    return key;
  }
}
