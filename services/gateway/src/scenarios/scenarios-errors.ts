import { ScenariosError } from '@relay/scenarios';
import { ApiError } from '../http/api-error';

const STATUS: Record<ScenariosError['code'], number> = {
  VALIDATION_FAILED: 400,
  WEBHOOK_NOT_FOUND: 400,
  CONTACT_NOT_FOUND: 404,
  SCENARIO_NOT_FOUND: 404,
  IDENTITY_CONFLICT: 409,
};

/** Runs a use case and turns the scenarios library's coded errors into the gateway's ApiError. */
export async function asApi<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScenariosError) throw new ApiError(STATUS[error.code], error.code, error.errors, error.message);
    throw error;
  }
}
