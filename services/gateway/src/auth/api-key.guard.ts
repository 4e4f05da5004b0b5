import { type CanActivate, type ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeysRepository, type ApiKeyPrincipal } from '@relay/control-plane';
import { ApiError } from '../http/api-error';

type AuthedRequest = FastifyRequest & { principal?: ApiKeyPrincipal };

/** Reads the key from `X-API-Key`, `Authorization: Bearer …` or seed 000's `spm-api-key`. */
export function extractApiKey(headers: FastifyRequest['headers']): string | undefined {
  for (const name of ['x-api-key', 'spm-api-key'] as const) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim().length > 0) return value.trim();
  }
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth);
    if (match?.[1]) return match[1].trim();
  }
  return undefined;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    // Already authenticated by an earlier guard (e.g. class-level ApiKeyGuard + @RateLimited()).
    if (request.principal) return true;
    const key = extractApiKey(request.headers);
    if (!key) throw ApiError.unauthorized('Missing API key (X-API-Key, Authorization: Bearer, or spm-api-key)');
    const principal = await this.keys.verify(key);
    if (!principal) throw ApiError.unauthorized('Invalid or revoked API key');
    request.principal = principal;
    return true;
  }
}

/** The authenticated key's team and environment. */
export const Principal = createParamDecorator((_data: unknown, context: ExecutionContext): ApiKeyPrincipal => {
  const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw ApiError.unauthorized();
  return principal;
});
