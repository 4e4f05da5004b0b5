import { RequestQueue, type RequestQueueInternals } from './request-queue-fix';

type Queue = RequestQueueInternals & { destroy(): void };
const Ctor = RequestQueue as unknown as new (options: Record<string, unknown>) => Queue;

function queue(): Queue {
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  return new Ctor({
    instrumentationEmitter: { emit: () => undefined },
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'spec',
    broker: 'localhost:9092',
    logger,
    isConnected: () => true,
  });
}

describe('kafkajs RequestQueue without its idle timer loop', () => {
  let q: Queue;
  beforeEach(() => {
    q = queue();
  });
  afterEach(() => q.destroy());

  it('re-checks an idle queue every 10 ms, not every millisecond (kafkajs 2.2.4: a negative delay, fired after 1 ms)', async () => {
    let checks = 0;
    const original = q.checkPendingRequests.bind(q);
    q.checkPendingRequests = () => {
      checks += 1;
      original();
    };
    q.checkPendingRequests();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    const elapsed = performance.now() - started;
    // At most one check per 10 ms (plus the first); the unpatched loop makes ~one per ms.
    expect(checks).toBeGreaterThan(1);
    expect(checks).toBeLessThanOrEqual(Math.ceil(elapsed / 10) + 1);
  });

  it('still sends a waiting request once the client-side throttle ends', async () => {
    let sent = 0;
    q.pending.push({ correlationId: 1, expectResponse: true, send: () => (sent += 1) });
    q.throttledUntil = Date.now() + 20;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (sent > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    expect(sent).toBe(1);
    expect(q.pending).toHaveLength(0);
  });

  it('checks after the 10 ms interval when a request waits without a throttle (an in-flight limit)', () => {
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.pending.length = 0;
  });
});
