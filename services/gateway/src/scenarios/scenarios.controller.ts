import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { ScenariosRepository, parseScenarioDefinition, parseScenarioPatch, scenarioCreateSchema, scenarioPatchSchema, type Scenario } from '@relay/scenarios';
import { Principal } from '../auth/api-key.guard';
import { z } from 'zod';
import { DocBody, ZodAnswer, ZodQuery, pageQuery } from '@relay/http-api';
import { dataAnswer, okAnswer, pageAnswer, scenarioView } from '../http/answers';
import { ApiError } from '../http/api-error';
import { asApi } from './scenarios-errors';
import { TeamRoutes } from '../http/routes';

type View = Omit<Scenario, 'team_id' | 'cooldown_ms'>;
const view = ({ team_id: _t, cooldown_ms: _c, ...rest }: Scenario): View => rest;
const listQuery = pageQuery(200, 50).extend({ code_name: z.string().min(1).optional().describe('only the scenarios subscribed to this code_name') });
const notFound = (id: string) => ApiError.notFound('SCENARIO_NOT_FOUND', `Scenario not found: ${id}`);

/** `/v1/scenarios`, team-scoped (another team's id is a 404). Model and rules: docs/scenarios.md. */
@TeamRoutes('scenarios', 'v1/scenarios')
export class ScenariosController {
  constructor(@Inject(ScenariosRepository) private readonly scenarios: ScenariosRepository) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a scenario subscribed to code_names (the event types may not exist yet)' })
  @DocBody(scenarioCreateSchema, {
    name: 'Welcome',
    code_names: ['user_signup'],
    actions: [{ type: 'webhook', webhook_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', delay: 'PT1H' }],
  })
  @ZodAnswer(201, dataAnswer(scenarioView))
  // The shape of GET /v1/scenarios/:id: the scenario (and its id) under `data`.
  async create(@Principal() principal: ApiKeyPrincipal, @Body() body: unknown): Promise<{ success: true; data: View }> {
    const def = await asApi(async () => parseScenarioDefinition(body));
    const created = await asApi(() => this.scenarios.create(principal.teamId, def));
    return { success: true, data: view(created) };
  }

  @Get()
  @ApiOperation({ summary: 'List the team’s scenarios, newest first (optionally those subscribed to a code_name)' })
  @ZodAnswer(200, pageAnswer(scenarioView))
  async list(
    @Principal() principal: ApiKeyPrincipal,
    @ZodQuery(listQuery) { limit, cursor, code_name: codeName }: z.output<typeof listQuery>,
  ): Promise<{ success: true; data: View[]; next_cursor: string | null }> {
    const page = await this.scenarios.list(principal.teamId, { limit, ...(cursor ? { cursor } : {}), ...(codeName ? { codeName } : {}) });
    return { success: true, data: page.data.map(view), next_cursor: page.next_cursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One scenario' })
  @ZodAnswer(200, dataAnswer(scenarioView))
  async get(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true; data: View }> {
    const found = await this.scenarios.get(principal.teamId, id);
    if (!found) throw notFound(id);
    return { success: true, data: view(found) };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a scenario; pausing it cancels its pending scheduled actions' })
  @DocBody(scenarioPatchSchema, { status: 'paused' })
  @ZodAnswer(200, dataAnswer(scenarioView))
  async update(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string, @Body() body: unknown): Promise<{ success: true; data: View }> {
    const patch = await asApi(async () => parseScenarioPatch(body));
    const updated = await asApi(() => this.scenarios.update(principal.teamId, id, patch));
    return { success: true, data: view(updated) };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete a scenario; its pending scheduled actions are cancelled' })
  @ZodAnswer(200, okAnswer)
  async delete(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true }> {
    await asApi(() => this.scenarios.delete(principal.teamId, id));
    return { success: true };
  }
}
