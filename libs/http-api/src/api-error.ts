import { ERROR_CODES, type ErrorCode } from './error-codes';

/**
 * An HTTP API error: a status, a stable code from the registry and every reason. Rendered
 * as `{"statusCode", "success": false, "code", "message", "errors": [...]}` — seed 000's
 * shape, extended with a stable `code` and a one-line `message`.
 */
export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    readonly errors: string[],
    message?: string,
  ) {
    super(message ?? (errors.length === 1 ? errors[0] : undefined) ?? (errors.length > 1 ? `${errors.length} errors` : code));
    this.name = 'ApiError';
    // The status follows from the code: one code, one status, on every route.
    this.statusCode = ERROR_CODES[code].status;
  }

  static badRequest(errors: string[], code: ErrorCode = 'VALIDATION_FAILED'): ApiError {
    return new ApiError(code, errors, errors.length === 1 ? errors[0] : `${errors.length} validation errors`);
  }

  static notFound(code: ErrorCode, message: string): ApiError {
    return new ApiError(code, [message], message);
  }

  static unauthorized(message = 'Invalid or missing API key'): ApiError {
    return new ApiError('UNAUTHORIZED', [message], message);
  }
}

/** The body of every error answer of the /v1, /admin and internal routes. */
export interface ErrorBody {
  statusCode: number;
  success: false;
  code: ErrorCode;
  message: string;
  errors: string[];
}

export const errorBody = (error: ApiError): ErrorBody => ({
  statusCode: error.statusCode,
  success: false,
  code: error.code,
  message: error.message,
  errors: error.errors,
});
