export const WEBHOOKS_OPTIONS = Symbol('WEBHOOKS_OPTIONS');


export interface WebhooksOptions {
  allowLoopback: boolean;
  defaultTimeoutMs: number;
}
