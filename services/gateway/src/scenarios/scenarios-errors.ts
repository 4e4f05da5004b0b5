import { ScenariosError } from '@relay/scenarios';
import { ApiError, type ErrorCode } from '@relay/http-api';

/**
 * The library's codes as registered ones. A scenario naming a webhook that does not exist
 * is an invalid body (400 VALIDATION_FAILED, the reason names the webhook):
 * WEBHOOK_NOT_FOUND means 404, an endpoint id in the path that is not found.
 */
const CODE: Record<ScenariosError['code'], ErrorCode> = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  WEBHOOK_NOT_FOUND: 'VALIDATION_FAILED',
  CONTACT_NOT_FOUND: 'CONTACT_NOT_FOUND',
  SCENARIO_NOT_FOUND: 'SCENARIO_NOT_FOUND',
  IDENTITY_CONFLICT: 'IDENTITY_CONFLICT',
};

/** Runs a use case and turns the scenarios library's coded errors into the gateway's ApiError. */
export async function asApi<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScenariosError) throw new ApiError(CODE[error.code], error.errors, error.message);
    throw error;
  }
}
