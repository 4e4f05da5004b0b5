import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Observable, throwError } from 'rxjs';
import { ApiError, errorBody } from './api-error';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

export interface ErrorFilterOptions {
  /** Logs a 5xx with its cause (the answer never carries it). */
  logError: (exception: unknown) => void;
  /** A service's own exceptions (domain errors, unavailable dependencies) as ApiErrors; undefined for the rest. */
  translate?: (exception: unknown) => ApiError | undefined;
  /** A route family that answers in another shape (the dialect routes keep their seed's); undefined for the standard shape. */
  render?: (error: ApiError, request: FastifyRequest) => Record<string, unknown> | undefined;
}

const malformed = (detail: string) => new ApiError('MALFORMED_JSON', [`Malformed JSON body: ${detail}`]);
const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', ['Request body is larger than the limit']);
const mediaType = () => new ApiError('UNSUPPORTED_MEDIA_TYPE', ['Content-Type must be application/json']);

/** Nest's, Fastify's and Node's own errors, as registered codes. */
export function toApiError(exception: unknown): ApiError | undefined {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    // Nest rewraps Fastify's own errors (body parsing, size limit, media type) as a bare
    // HttpException(message, status), so they are recognised by status and message here.
    const status = exception.getStatus();
    const message = exception.message;
    if (status === 400 && /JSON/i.test(message)) return malformed(message);
    if (status === 413) return tooLarge();
    if (status === 415) return mediaType();
    if (status === 404) return new ApiError('ROUTE_NOT_FOUND', [message]);
    if (status === 405) return new ApiError('METHOD_NOT_ALLOWED', [message]);
    if (status >= 400 && status < 500) return new ApiError('BAD_REQUEST', [message]);
    return undefined;
  }
  const fe = exception as FastifyLikeError | null;
  const byCode: Record<string, () => ApiError> = {
    FST_ERR_CTP_INVALID_JSON_BODY: () => malformed(fe?.message ?? ''),
    FST_ERR_CTP_EMPTY_JSON_BODY: () => malformed('empty body'),
    FST_ERR_CTP_BODY_TOO_LARGE: tooLarge,
    FST_ERR_CTP_INVALID_MEDIA_TYPE: mediaType,
  };
  const known = fe?.code !== undefined ? byCode[fe.code] : undefined;
  if (known) return known();
  if (exception instanceof SyntaxError) return malformed(exception.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new ApiError('BAD_REQUEST', [fe.message]);
  return undefined;
}

/**
 * Every error leaves a Relay HTTP API in one JSON shape with a registered code:
 * `{statusCode, success: false, code, message, errors}`. Internal details never leak (a
 * 500 says only that the request can be retried). Registered app-wide in every service.
 */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly options: ErrorFilterOptions) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | undefined {
    // Stage services share the app's global filters with their Kafka transport (hybrid app,
    // inheritAppConfig): a consumer handler's error goes back to the transport unchanged.
    if (host.getType() !== 'http') return throwError(() => exception);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const error = this.options.translate?.(exception) ?? toApiError(exception) ?? new ApiError('INTERNAL', ['Internal error; the request can be retried']);
    if (error.statusCode >= 500) this.options.logError(exception);
    const headers: Record<string, string> = {};
    if (error.statusCode === 503) headers['retry-after'] = '1';
    void reply
      .status(error.statusCode)
      .headers(headers)
      .send(this.options.render?.(error, request) ?? errorBody(error));
    return undefined;
  }
}
