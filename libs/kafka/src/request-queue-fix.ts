/**
 * kafkajs 2.2.4 (its last release) keeps every broker connection in a 1 ms timer loop:
 * `RequestQueue.scheduleCheckPendingRequests` runs after every response and schedules the
 * next check at `throttledUntil - Date.now()`, which is negative when nothing is throttled
 * (`throttledUntil` starts at -1), so Node fires it after 1 ms, and the check schedules the
 * next one — whether or not a request is waiting (tulios/kafkajs#1556, #1704; the fix of
 * #1667 was never released). Measured on an idle Relay stack: 0.036 cores of a gateway that
 * receives nothing, about half of each idle stage's CPU, and Node 24's
 * TimeoutNegativeWarning at every start.
 *
 * Replaced here, on the prototype every kafkajs client of the process shares, by the same
 * method that schedules a check only when a request is waiting: at the end of the client-side
 * throttle, or after kafkajs's 10 ms interval when it waits for an in-flight slot (#1532:
 * the check must still happen when the throttle ends within the millisecond). With nothing
 * pending there is nothing to check: `push` schedules again when it enqueues, and every
 * response or timeout checks the queue itself. Hand-written because it is a bug fix to a
 * private method of a dependency, not a solved problem with a library.
 *
 * Once suspected of leaving requests stuck: with it, the three-node broker-SIGKILL spec
 * refused tens of thousands of records and lost acknowledged ones. It then failed the same
 * way without it: the cause was kafkajs reusing a failed request's sequence numbers, which
 * made every later send to the partition fail (OUT_OF_ORDER_SEQUENCE_NUMBER) or vanish
 * (taken for a duplicate) — fixed in DurableProducer (see renew()).
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
  if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
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
