import { type CanActivate, type ExecutionContext, Inject, Injectable, UseGuards, applyDecorators } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { RateLimitService } from './rate-limit.service';

/**
 * Enforces the key's and the team's requests-per-window limits (RateLimitService.enforce).
 * Runs after ApiKeyGuard, since it needs the principal: use `@RateLimited()`.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RateLimitService) private readonly limits: RateLimitService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { principal?: ApiKeyPrincipal }>();
    if (!request.principal) throw ApiError.unauthorized();
    await this.limits.enforce(request.principal, request, http.getResponse<FastifyReply>());
    return true;
  }
}

/**
 * Authentication plus rate limiting for an ingestion route or controller:
 *
 *   @RateLimited()
 *   @Controller('api/v1/events')
 *   export class SendController { … }
 *
 * Includes ApiKeyGuard (which does nothing when a guard before it already authenticated
 * the request), so it replaces `@UseGuards(ApiKeyGuard)` or sits beside it.
 */
export const RateLimited = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(ApiKeyGuard, RateLimitGuard));
