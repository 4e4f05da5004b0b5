// The gateway's errors are the shared HTTP API errors: one registry of codes for every service.
export { ApiError } from '@relay/http-api';
