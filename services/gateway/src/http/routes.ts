import { Controller, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import { AdminTokenGuard } from '../admin/admin-token.guard';
import { ApiKeyGuard } from '../auth/api-key.guard';

/**
 * A controller of a team's routes: authenticated by an API key (ApiKeyGuard, which puts the
 * principal on the request), listed under `tag` in the OpenAPI document. `teamHeader`: the
 * Sendmator dialect, whose routes also carry `X-Team-ID`.
 */
export function TeamRoutes(tag: string, path: string | string[], options: { teamHeader?: boolean } = {}): ClassDecorator {
  return applyDecorators(
    ApiTags(tag),
    ...(options.teamHeader ? [ApiHeader({ name: 'X-Team-ID', required: true })] : []),
    UseGuards(ApiKeyGuard),
    Controller(path),
  );
}

/** A controller of the operator's routes: `Authorization: Bearer <RELAY_ADMIN_TOKEN>` (AdminTokenGuard). */
export function AdminRoutes(path: string): ClassDecorator {
  return applyDecorators(ApiTags('admin'), UseGuards(AdminTokenGuard), Controller(path));
}
