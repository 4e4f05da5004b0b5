import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/api-error';
import { CONFIG, type Config } from '../tokens';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares in constant time. Both sides are hashed first so the comparison runs on equal
 * lengths: timingSafeEqual needs that, and comparing lengths directly would leak the
 * token's length.
 */
export function adminTokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(sha256(expected), sha256(given));
}

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
    const auth = request.headers.authorization;
    const match = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
    if (!adminTokenMatches(expected, match?.[1]?.trim())) throw ApiError.unauthorized('Invalid or missing admin token (Authorization: Bearer …)');
    return true;
  }
}
