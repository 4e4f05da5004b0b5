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

  it('schedules nothing after a check when no request is waiting (kafkajs 2.2.4 set a 1 ms timer every time)', () => {
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a waiting request once the client-side throttle ends, then stops checking', async () => {
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
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks after the 10 ms interval when a request waits without a throttle (an in-flight limit)', () => {
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.pending.length = 0;
  });
});
