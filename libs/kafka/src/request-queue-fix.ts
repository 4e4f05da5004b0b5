/**
 * kafkajs 2.2.4 (its last release) keeps every broker connection in a 1 ms timer loop:
 * `RequestQueue.scheduleCheckPendingRequests` runs after every response and schedules the
 * next check at `throttledUntil - Date.now()`, which is negative when nothing is throttled
 * (`throttledUntil` starts at -1), so Node fires it after 1 ms, and the check schedules the
 * next one — whether or not a request is waiting (tulios/kafkajs#1556, #1704, #1751; no fix
 * was released). Measured on an idle Relay stack: most of an idle gateway's CPU, about half
 * of each idle stage's, and Node 24's TimeoutNegativeWarning.
 *
 * Replaced here, on the prototype every kafkajs client of the process shares, by the same
 * method with the delay of a check that is not waiting for a throttle set to kafkajs's own
 * 10 ms interval (CHECK_PENDING_REQUESTS_INTERVAL) instead of a negative number: the loop
 * stays (ten times slower), because removing it altogether — checking only while a request
 * is pending, as kafkajs#1667 proposes — left produce and fetch requests stuck after a
 * broker was SIGKILLed (libs/kafka/src/three-nodes.int.spec.ts: tens of thousands of
 * refused records and records not read back), so something in kafkajs relies on it.
 * Hand-written because it is a fix to a private method of a dependency, not a solved
 * problem with a library.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals };

/** The fields of kafkajs's RequestQueue the method reads (src/network/requestQueue/index.js). */
export interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId !== null) return;
  const throttledForMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;

export { RequestQueue };
