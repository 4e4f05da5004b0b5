export { DEV_ONLY_SECRET_KEY, SecretBox, generateSigningSecret, parseSecretKey, secretKeyFor, standardKey } from './secrets';
export { signatureHeaders, verifyShopimindSignature, type SignatureScheme } from './signing';
export { UrlPolicyError, WebhookTargetPolicy, assertDeliverableUrl, guardedLookup, parseWebhookUrl } from './url-policy';
export { nextRetryDelay, parseRetryAfter, parseSchedule } from './schedule';
export {
  RELAY_KINDS,
  EndpointDirectory,
  signingSecrets,
  subscriptionSource,
  contactFieldErrors,
  CONTACT_PROFILE_FIELDS,
  type EndpointSource,
  WebhookEndpointsRepository,
  type DispatchEndpoint,
  type EndpointInput,
  type EndpointPatch,
  type EndpointStatus,
  type RelayKind,
  type WebhookEndpoint,
} from './endpoints';
export { endpointCreateSchema, endpointPatchSchema, withDefaults, type EndpointCreateBody, type EndpointPatchBody } from './endpoint-input';
export {
  deliveryIdFor,
  deliveryItem,
  rejectedDelivery,
  relayDelivery,
  requestBody,
  subscriptionDelivery,
  type ContactSnapshot,
  type DeliveryItem,
} from './payload';
export { PendingStore, WebhookActivityRepository, type AttemptView, type Completion, type PendingJob } from './pending';
export { WebhookSender, type SendResult } from './sender';
export { EndpointRateLimiters, rateLimitPeriodMs } from './rate-limit';
export { DeliveryEngine, type DeliveryEngineOptions } from './engine';
