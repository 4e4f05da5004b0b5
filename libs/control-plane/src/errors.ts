export type ControlPlaneErrorCode =
  | 'DATABASE_UNAVAILABLE'
  | 'MIGRATION_FAILED'
  | 'CODE_NAME_TAKEN'
  | 'EVENT_TYPE_NOT_FOUND'
  | 'INVALID_DEFINITION'
  | 'TEAM_NOT_FOUND'
  | 'KEY_NOT_FOUND'
  | 'KEY_REVOKED'
  | 'INVALID_KEY_TRANSITION'
  | 'NOT_A_TEST_DATABASE';

export class ControlPlaneError extends Error {
  /** Every reason, for errors that have several (INVALID_DEFINITION). */
  readonly errors: string[];
  constructor(
    readonly code: ControlPlaneErrorCode,
    message: string,
    options?: { cause?: unknown; errors?: string[] },
  ) {
    super(message, options);
    this.errors = options?.errors ?? [message];
    this.name = 'ControlPlaneError';
  }
}
