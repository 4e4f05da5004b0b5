import { Body, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { EventTypeCache, type ApiKeyPrincipal } from '@relay/control-plane';
import { DryRun, type DryRunResult } from '@relay/scenarios';
import { Principal } from '../auth/api-key.guard';
import { prepareSend } from '../ingest/sendmator.controller';
import { RateLimited } from '../rate-limit/rate-limit.guard';
import { DocBody, ZodAnswer } from '@relay/http-api';
import { dryRunAnswer } from '../http/answers';
import { sendmatorBody } from '../ingest/sendmator-body';
import { TeamRoutes } from '../http/routes';

/**
 * Seed 003's synchronous trigger as a dry run: the same checks as `POST
 * /api/v1/events/send`, then the matcher's decision for the event (which scenarios would
 * fire, and why the others would not), with no side effect — nothing produced to Kafka,
 * no cooldown claimed, no contact created or changed. See docs/scenarios.md.
 */
@TeamRoutes('scenarios', 'api/v1/events', { teamHeader: true })
export class DryRunController {
  constructor(
    @Inject(EventTypeCache) private readonly eventTypes: EventTypeCache,
    @Inject(DryRun) private readonly dryRun: DryRun,
  ) {}

  @Post('trigger')
  @RateLimited()
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry run: validate, resolve and report which scenarios would fire, without side effects' })
  @DocBody(sendmatorBody)
  @ZodAnswer(200, dryRunAnswer)
  async trigger(
    @Principal() principal: ApiKeyPrincipal,
    @Headers('x-team-id') teamHeader: string | undefined,
    @Body() body: unknown,
  ): Promise<{ success: true; dry_run: true; code_name: string; trigger_at: string | null } & DryRunResult> {
    const { envelope } = await prepareSend(principal, teamHeader, body, null, this.eventTypes);
    const result = await this.dryRun.evaluate(envelope);
    return {
      success: true,
      dry_run: true,
      code_name: envelope.code_name,
      trigger_at: envelope.trigger_at ? new Date(envelope.trigger_at).toISOString() : null,
      ...result,
    };
  }
}
