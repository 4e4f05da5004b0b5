import { ApiError, type ErrorCode } from '@relay/http-api';

/** An error answer of the history service's internal API: the shared shape and registry (the app-level filter renders it). */
export const fail = (code: ErrorCode, message: string): ApiError => new ApiError(code, [message], message);
