import { ApiOperation } from '@nestjs/swagger';
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ReadOnlySqlError, runReadOnlySql, type HistoryClient, type SqlResult } from '@relay/history-store';
import { HISTORY_CLIENT } from './tokens';
import { fail } from './http-error';

/**
 * Internal read-only SQL over the history store, for `npm run sql` and operators. It
 * exists because the embedded engine (chDB) binds its data directory to one process: while
 * the history service runs, nobody else may open that directory, so ad-hoc queries go
 * through the service. Not forwarded by the gateway (queries see every team's rows);
 * the history port must stay on the internal network, like the rest of its API.
 *
 * Only SELECT / WITH / SHOW / DESCRIBE pass, and ClickHouse runs them with readonly = 1.
 */
@Controller('internal/v1/sql')
export class HistorySqlController {
  constructor(@Inject(HISTORY_CLIENT) private readonly client: HistoryClient) {}

  @Post()
  @ApiOperation({ summary: "Run one read-only SQL query over every team (operators only; not forwarded by the gateway)" })
  @HttpCode(200)
  async run(@Body() body: unknown): Promise<SqlResult & { success: true }> {
    const query = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).query : undefined;
    const maxRows = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).max_rows : undefined;
    if (typeof query !== 'string') throw fail('VALIDATION_FAILED', 'body must be {"query": "SELECT …"}');
    if (maxRows !== undefined && (typeof maxRows !== 'number' || !Number.isInteger(maxRows) || maxRows < 1 || maxRows > 100_000)) {
      throw fail('VALIDATION_FAILED', 'max_rows must be an integer 1..100000');
    }
    try {
      return { success: true, ...(await runReadOnlySql(this.client, query, maxRows === undefined ? {} : { maxRows })) };
    } catch (error) {
      if (error instanceof ReadOnlySqlError) throw fail('READ_ONLY_SQL', error.message);
      // ClickHouse's own answer (syntax, unknown column, readonly refusal): the caller's query.
      const e = error as { code?: unknown; type?: unknown; message?: unknown };
      if (typeof e.type === 'string' || typeof e.code === 'string') throw fail('QUERY_FAILED', String(e.message));
      throw error;
    }
  }
}
