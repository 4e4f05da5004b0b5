import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { ContractError } from '@relay/contracts';
import { ControlPlaneError } from '@relay/control-plane';
import { ApiError } from './api-error';
import { unavailableDependency } from './dependency';

/**
 * Seed 003's routes (/api/v1/…) answer in its shape — `{statusCode, message, error}` with
 * the HTTP reason phrase as `error` and its exact messages — extended with Relay's `code`
 * and `errors`. Everything else answers in seed 000's shape extended the same way.
 */
function render(error: ApiError, url: string): Record<string, unknown> {
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
  return { statusCode: error.statusCode, success: false, code: error.code, message: error.message, errors: error.errors };
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

/**
 * Every error leaves the gateway in one JSON shape with a stable code; internal details
 * never leak (5xx answers say only that the request can be retried).
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(@Inject(PinoLogger) private readonly logger: PinoLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const error = this.toApiError(exception);
    if (error.statusCode >= 500) this.logger.error({ err: exception }, 'request failed');
    const headers: Record<string, string> = {};
    if (error.statusCode === 503) headers['retry-after'] = '1';
    void reply.status(error.statusCode).headers(headers).send(render(error, request.url));
  }

  private toApiError(exception: unknown): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof ControlPlaneError) {
      switch (exception.code) {
        case 'CODE_NAME_TAKEN':
          return new ApiError(409, exception.code, [exception.message]);
        case 'INVALID_DEFINITION':
          return new ApiError(400, 'VALIDATION_FAILED', exception.errors);
        case 'EVENT_TYPE_NOT_FOUND':
        case 'TEAM_NOT_FOUND':
        case 'KEY_NOT_FOUND':
          return new ApiError(404, exception.code, [exception.message]);
        case 'KEY_REVOKED':
        case 'INVALID_KEY_TRANSITION':
          return new ApiError(409, exception.code, [exception.message]);
        case 'DATABASE_UNAVAILABLE':
        case 'MIGRATION_FAILED':
        case 'NOT_A_TEST_DATABASE':
          return new ApiError(503, 'STORE_UNAVAILABLE', ['The control plane is unavailable; retry later']);
      }
    }
    if (exception instanceof ContractError) {
      return new ApiError(503, 'REGISTRY_UNAVAILABLE', ['The schema registry is unavailable; retry later']);
    }
    if (exception instanceof HttpException) {
      // Nest rewraps Fastify's own errors (body parsing, size limit, media type) as a bare
      // HttpException(message, status), so they are recognised by status and message here.
      const status = exception.getStatus();
      const message = exception.message;
      if (status === 400 && /JSON/i.test(message)) return new ApiError(400, 'MALFORMED_JSON', [`Malformed JSON body: ${message}`]);
      if (status === 413) return new ApiError(413, 'PAYLOAD_TOO_LARGE', ['Request body is larger than the limit']);
      if (status === 415) return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', ['Content-Type must be application/json']);
      const code = status === 404 ? 'ROUTE_NOT_FOUND' : status === 405 ? 'METHOD_NOT_ALLOWED' : `HTTP_${status}`;
      return new ApiError(status, code, [message]);
    }
    const dependency = unavailableDependency(exception);
    if (dependency) {
      // Nothing was made durable (or it is not known to be): the client may retry the same request.
      return new ApiError(503, 'DEPENDENCY_UNAVAILABLE', [`${dependency} is unavailable or too slow; retry later`]);
    }
    const fe = exception as FastifyLikeError;
    const byCode: Record<string, ApiError> = {
      FST_ERR_CTP_INVALID_JSON_BODY: new ApiError(400, 'MALFORMED_JSON', [`Malformed JSON body: ${fe?.message}`]),
      FST_ERR_CTP_EMPTY_JSON_BODY: new ApiError(400, 'MALFORMED_JSON', ['Malformed JSON body: empty body']),
      FST_ERR_CTP_BODY_TOO_LARGE: new ApiError(413, 'PAYLOAD_TOO_LARGE', ['Request body is larger than the limit']),
      FST_ERR_CTP_INVALID_MEDIA_TYPE: new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', ['Content-Type must be application/json']),
    };
    const known = fe?.code !== undefined ? byCode[fe.code] : undefined;
    if (known) return known;
    if (exception instanceof SyntaxError) {
      return new ApiError(400, 'MALFORMED_JSON', [`Malformed JSON body: ${exception.message}`]);
    }
    if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return new ApiError(fe.statusCode, fe.code ?? `HTTP_${fe.statusCode}`, [fe.message]);
    }
    return new ApiError(500, 'INTERNAL', ['Internal error; the request can be retried']);
  }
}
