export type ScenariosErrorCode = 'VALIDATION_FAILED' | 'CONTACT_NOT_FOUND' | 'SCENARIO_NOT_FOUND' | 'IDENTITY_CONFLICT' | 'WEBHOOK_NOT_FOUND';

/** A caller mistake or a missing record, with a stable code; the gateway maps it to HTTP. */
export class ScenariosError extends Error {
  override readonly name = 'ScenariosError';
  constructor(
    readonly code: ScenariosErrorCode,
    readonly errors: string[],
    options?: { cause?: unknown },
  ) {
    super(errors.length === 1 ? errors[0] : `${errors.length} validation errors`, options);
  }
}
