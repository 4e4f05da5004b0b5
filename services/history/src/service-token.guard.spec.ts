import type { ExecutionContext } from '@nestjs/common';
import { ApiError } from '@relay/http-api';
import { ServiceTokenGuard } from './service-token.guard';

const TOKEN = 'history-token-0123456789abcdef';
const contextWith = (authorization?: string): ExecutionContext =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }) }) as unknown as ExecutionContext;

describe('ServiceTokenGuard', () => {
  const guard = new ServiceTokenGuard(TOKEN);

  it('lets the right bearer token through', () => {
    expect(guard.canActivate(contextWith(`Bearer ${TOKEN}`))).toBe(true);
  });

  it.each([[undefined], [''], [`Bearer ${TOKEN}x`], [`Bearer ${TOKEN.slice(1)}`], [TOKEN], [`Basic ${TOKEN}`]])(
    'answers 401 SERVICE_TOKEN_INVALID to %p without echoing it',
    (authorization) => {
      let thrown: unknown;
      try {
        guard.canActivate(contextWith(authorization));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      const e = thrown as ApiError;
      expect([e.statusCode, e.code]).toEqual([401, 'SERVICE_TOKEN_INVALID']);
      expect(JSON.stringify({ message: e.message, errors: e.errors })).not.toContain(TOKEN.slice(4));
    },
  );
});
