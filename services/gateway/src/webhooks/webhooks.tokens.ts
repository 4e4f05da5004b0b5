export const WEBHOOKS_OPTIONS = Symbol('WEBHOOKS_OPTIONS');

import type { WebhookTargetPolicy } from '@relay/webhooks';

export interface WebhooksOptions {
  targets: WebhookTargetPolicy;
  defaultTimeoutMs: number;
}
