export { ApiError, errorBody, type ErrorBody } from './api-error';
export { ERROR_CODES, codesOfStatus, errorCodesTable, isErrorCode, type ErrorCode } from './error-codes';
export { ApiErrorFilter, toApiError, type ErrorFilterOptions } from './error.filter';
export { ZodPipe, issueMessages } from './zod-pipe';
export { cursorParam, limitParam, pageQuery, type PageQuery } from './query';
export { DocBody, ZodAnswer, ZodBody, ZodQuery, completeDocument, exampleOf, errorBodySchema, requestSchema, responseSchema, type ErrorRule } from './openapi';
export { DEV_ONLY_HISTORY_TOKEN, bearerToken, historyToken, historyTokenFor, secretMatches } from './service-token';
