import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken, secretMatches } from '@relay/http-api';
import { ApiError } from '../http/api-error';
import { CONFIG, type Config } from '../tokens';

/** Compares in constant time (hashes of both sides, see secretMatches). */
export const adminTokenMatches = secretMatches;

/**
 * `Authorization: Bearer <RELAY_ADMIN_TOKEN>`. With no token configured the admin surface
 * does not exist: 404 exactly like an unknown route, so a deployment that never enabled
 * it does not advertise it (503 would tell a scanner that there is something to attack).
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const expected = this.config.RELAY_ADMIN_TOKEN;
    if (!expected) {
      throw new ApiError('ROUTE_NOT_FOUND', [`Cannot ${request.method} ${request.url.split('?')[0]}`]);
    }
    if (!adminTokenMatches(expected, bearerToken(request.headers.authorization)))
      throw ApiError.unauthorized('Invalid or missing admin token (Authorization: Bearer …)');
    return true;
  }
}
