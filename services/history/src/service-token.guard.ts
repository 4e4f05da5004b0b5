import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken, secretMatches } from '@relay/http-api';
import { fail } from './http-error';
import { HISTORY_TOKEN } from './tokens';

/**
 * The service credential of the internal API: `Authorization: Bearer <RELAY_HISTORY_TOKEN>`,
 * compared in constant time (secretMatches hashes both sides). Missing or wrong: 401
 * SERVICE_TOKEN_INVALID; the presented value is never logged or echoed. Whoever holds the
 * token is trusted to say which team it asks for (the gateway passes its caller's team).
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  constructor(@Inject(HISTORY_TOKEN) private readonly token: string) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!secretMatches(this.token, bearerToken(request.headers.authorization))) {
      throw fail('SERVICE_TOKEN_INVALID', 'Missing or wrong service token (Authorization: Bearer <RELAY_HISTORY_TOKEN>)');
    }
    return true;
  }
}
