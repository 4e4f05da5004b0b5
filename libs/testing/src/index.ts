// Test harness: helpers for specs, plus the Jest global setup/teardown (global-setup.ts,
// global-teardown.ts) that start the shared infrastructure once per integration run.
export { createTestTopic, freshTopicName, uniqueGroupId, waitForTopicLeaders } from './topics';
export { DEFAULT_PG_URL, parsePgUrl, startTestStack } from './stack';
export type { TestStack, TestStackOptions } from './stack';
// End-to-end harness: Relay's services on the shared infrastructure, per-spec databases.
export * from './relay-harness';
export * from './test-database';
export { makeContactRef, makeEnvelope, storePurchaseType } from './factories';
export { parsePrometheus, sumOf, type Sample } from './prometheus';
export { callJson, jsonRequest, type JsonResponse } from './http';
// A local HTTP endpoint that records webhook requests and answers as a spec scripts it.
export { receiver, receiverPool, type Answer, type Received, type Receiver, type ReceiverPool } from './webhook-receiver';
