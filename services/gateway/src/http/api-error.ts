/**
 * The gateway's error: a status, a stable code and every reason. Rendered as
 * `{"statusCode", "success": false, "code", "message", "errors": [...]}` — seed 000's
 * shape, extended with a stable `code` and a one-line `message`.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly errors: string[],
    message?: string,
  ) {
    super(message ?? errors[0] ?? code);
    this.name = 'ApiError';
  }

  static badRequest(errors: string[], code = 'VALIDATION_FAILED'): ApiError {
    return new ApiError(400, code, errors, errors.length === 1 ? errors[0] : `${errors.length} validation errors`);
  }

  static notFound(code: string, message: string): ApiError {
    return new ApiError(404, code, [message], message);
  }

  static unauthorized(message = 'Invalid or missing API key'): ApiError {
    return new ApiError(401, 'UNAUTHORIZED', [message], message);
  }
}
