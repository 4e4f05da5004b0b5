export type ContractErrorCode = 'UNDECODABLE' | 'SCHEMA_NOT_FOUND' | 'INCOMPATIBLE_SCHEMA' | 'ENCODE_FAILED' | 'REGISTRY_UNAVAILABLE';

/** Failure at the wire-contract boundary, with a stable code and the underlying cause. */
export class ContractError extends Error {
  constructor(
    readonly code: ContractErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ContractError';
  }
}
