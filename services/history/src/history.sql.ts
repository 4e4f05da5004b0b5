import { ApiOperation } from '@nestjs/swagger';
import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ReadOnlySqlError, runTeamSql, TeamSqlError, type HistoryClient, type SqlResult } from '@relay/history-store';
import { HISTORY_CLIENT } from './tokens';
import { fail } from './http-error';
import { ServiceTokenGuard } from './service-token.guard';

/**
 * Internal read-only SQL over one team's history, for `npm run sql -- --team <id>`. It
 * exists because the embedded engine (chDB) binds its data directory to one process: while
 * the history service runs, nobody else may open that directory, so ad-hoc queries go
 * through the service. Like every internal route it needs the service token, and it reads
 * only the rows of `team_id`: the statement runs against team-scoped `events`,
 * `scenario_runs` and `webhook_attempts` and may name nothing else (runTeamSql explains
 * how). SELECT / WITH only, with readonly = 1.
 */
@UseGuards(ServiceTokenGuard)
@Controller('internal/v1/sql')
export class HistorySqlController {
  constructor(@Inject(HISTORY_CLIENT) private readonly client: HistoryClient) {}

  @Post()
  @ApiOperation({ summary: "Run one read-only SQL query over the team's events, scenario_runs and webhook_attempts" })
  @HttpCode(200)
  async run(@Body() body: unknown): Promise<SqlResult & { success: true }> {
    const query = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).query : undefined;
    const maxRows = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).max_rows : undefined;
    const teamId = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).team_id : undefined;
    if (typeof query !== 'string') throw fail('VALIDATION_FAILED', 'body must be {"query": "SELECT …", "team_id": "…"}');
    if (typeof teamId !== 'string' || teamId.length === 0) throw fail('VALIDATION_FAILED', "team_id is required: SQL reads one team's rows");
    if (maxRows !== undefined && (typeof maxRows !== 'number' || !Number.isInteger(maxRows) || maxRows < 1 || maxRows > 100_000)) {
      throw fail('VALIDATION_FAILED', 'max_rows must be an integer 1..100000');
    }
    try {
      return { success: true, ...(await runTeamSql(this.client, query, teamId, maxRows === undefined ? {} : { maxRows })) };
    } catch (error) {
      if (error instanceof TeamSqlError) throw fail('SQL_NOT_TEAM_SCOPED', error.message);
      if (error instanceof ReadOnlySqlError) throw fail('READ_ONLY_SQL', error.message);
      // ClickHouse's own answer (syntax, unknown column, readonly refusal): the caller's query.
      const e = error as { code?: unknown; type?: unknown; message?: unknown };
      if (typeof e.type === 'string' || typeof e.code === 'string') throw fail('QUERY_FAILED', String(e.message));
      throw error;
    }
  }
}
