import { STATUS_CODES } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';
import { ContractError } from '@relay/contracts';
import { ControlPlaneError } from '@relay/control-plane';
import { ApiError, ApiErrorFilter, errorBody } from '@relay/http-api';
import { unavailableDependency } from './dependency';

/**
 * Seed 003's routes (/api/v1/…) answer in its shape — `{statusCode, message, error}` with
 * the HTTP reason phrase as `error` and its exact messages — extended with Relay's `code`
 * and `errors`. Seed 002's collect route (/http/v1/…) and everything else answer in the
 * standard shape (seed 000's, extended the same way).
 */
export function renderError(error: ApiError, url: string): Record<string, unknown> {
  if (url.startsWith('/api/v1/')) {
    const message = error.code === 'UNAUTHORIZED' ? 'Unauthorized' : error.message;
    return {
      statusCode: error.statusCode,
      message,
      error: STATUS_CODES[error.statusCode] ?? 'Error',
      code: error.code,
      errors: error.code === 'UNAUTHORIZED' ? [message] : error.errors,
    };
  }
  return { ...errorBody(error) };
}

/** The control plane's, the registry's and the dependencies' failures as registered codes. */
export function translateGatewayError(exception: unknown): ApiError | undefined {
  if (exception instanceof ControlPlaneError) {
    switch (exception.code) {
      case 'CODE_NAME_TAKEN':
      case 'EVENT_TYPE_NOT_FOUND':
      case 'TEAM_NOT_FOUND':
      case 'KEY_NOT_FOUND':
      case 'KEY_REVOKED':
      case 'INVALID_KEY_TRANSITION':
        return new ApiError(exception.code, [exception.message]);
      case 'INVALID_DEFINITION':
        return ApiError.badRequest(exception.errors);
      case 'DATABASE_UNAVAILABLE':
      case 'MIGRATION_FAILED':
      case 'NOT_A_TEST_DATABASE':
        return new ApiError('STORE_UNAVAILABLE', ['The control plane is unavailable; retry later']);
    }
  }
  if (exception instanceof ContractError) {
    return new ApiError('REGISTRY_UNAVAILABLE', ['The schema registry is unavailable; retry later']);
  }
  const dependency = unavailableDependency(exception);
  // Nothing was made durable (or it is not known to be): the client may retry the same request.
  if (dependency) return new ApiError('DEPENDENCY_UNAVAILABLE', [`${dependency} is unavailable or too slow; retry later`]);
  return undefined;
}

/** The gateway's app-level filter: the shared one, with the gateway's domain errors and the dialects' shapes. */
export const gatewayErrorFilter = (logger: Pick<PinoLogger, 'error'>): ApiErrorFilter =>
  new ApiErrorFilter({
    logError: (err) => logger.error({ err }, 'request failed'),
    translate: translateGatewayError,
    render: (error, request: FastifyRequest) => renderError(error, request.url),
  });
