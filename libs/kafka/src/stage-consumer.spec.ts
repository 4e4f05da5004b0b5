import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { ContractRegistry } from '@relay/contracts';
import { RelayMetrics, createLogger } from '@relay/observability';
import type { DurableProducer } from './producer';
import { ok } from './outcome';
import { StageConsumer } from './stage-consumer';

/** The part of a kafkajs Consumer StageConsumer uses, with its instrumentation events fired by hand. */
class FakeConsumer extends EventEmitter {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', STOP: 'consumer.stop' };
  config: Record<string, unknown> = {};
  connect = jest.fn(async () => undefined);
  subscribe = jest.fn(async () => undefined);
  commitOffsets = jest.fn(async (_offsets: { topic: string; partition: number; offset: string }[]) => undefined);
  eachBatch: ((payload: unknown) => Promise<void>) | null = null;
  run = jest.fn(async (config: { eachBatch: (payload: unknown) => Promise<void> }) => {
    this.eachBatch = config.eachBatch;
    this.fire('GROUP_JOIN', {});
  });
  disconnect = jest.fn(async () => {
    this.fire('STOP', {});
  });
  fire(event: 'GROUP_JOIN' | 'CRASH' | 'STOP', payload: Record<string, unknown>): void {
    this.emit(this.events[event], { payload });
  }
}

function setup(extra: { commitIntervalMs?: number } = {}) {
  const fake = new FakeConsumer();
  const onFatal = jest.fn();
  const kafka = {
    consumer: (config: Record<string, unknown>) => {
      fake.config = config;
      return fake;
    },
  } as unknown as Kafka;
  const consumer = new StageConsumer({
    kafka,
    registry: {
      topic: (k: string) => `t.${k}`,
      decode: async () => ({ schemaId: 1, value: {} }),
    } as unknown as ContractRegistry,
    producer: { sendBatch: async () => undefined } as unknown as DurableProducer,
    metrics: new RelayMetrics('test'),
    logger: createLogger('test', 'silent'),
    stage: 'validator',
    groupId: 'g',
    handlers: { ingested: async (messages) => messages.map(() => ok()) },
    batchMax: 10,
    partitionsConcurrency: 1,
    onFatal,
    ...extra,
  });
  return { fake, consumer, onFatal };
}

/** Hands the consumer one batch of `count` messages of partition `partition`, from `first`. */
async function deliver(fake: FakeConsumer, partition: number, first: number, count: number): Promise<void> {
  await fake.eachBatch?.({
    batch: {
      topic: 't.ingested',
      partition,
      highWatermark: String(first + count),
      messages: Array.from({ length: count }, (_, i) => ({ offset: String(first + i), key: null, value: Buffer.from('x'), headers: {}, timestamp: '0' })),
    },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  });
}

describe('StageConsumer offset commits (after durable output, grouped by time)', () => {
  afterEach(() => jest.useRealTimers());

  it('commits the chunks done within an interval together, in one request, once the interval has passed', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { fake, consumer } = setup({ commitIntervalMs: 250 });
    await consumer.start();
    // Three chunks of at most 10: the first commits at once (nothing committed in the last
    // 250 ms), the two others wait for the interval.
    await deliver(fake, 0, 0, 25);
    expect(fake.commitOffsets).toHaveBeenCalledTimes(1);
    expect(fake.commitOffsets).toHaveBeenLastCalledWith([{ topic: 't.ingested', partition: 0, offset: '10' }]);
    await deliver(fake, 0, 25, 5);
    await deliver(fake, 1, 0, 3);
    expect(fake.commitOffsets).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(250);
    expect(fake.commitOffsets).toHaveBeenCalledTimes(2);
    expect(fake.commitOffsets).toHaveBeenLastCalledWith([
      { topic: 't.ingested', partition: 0, offset: '30' },
      { topic: 't.ingested', partition: 1, offset: '3' },
    ]);
  });

  it('commits what is pending when stopped', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { fake, consumer } = setup({ commitIntervalMs: 250 });
    await consumer.start();
    await deliver(fake, 0, 0, 1);
    await deliver(fake, 0, 1, 1);
    await consumer.stop();
    expect(fake.commitOffsets).toHaveBeenLastCalledWith([{ topic: 't.ingested', partition: 0, offset: '2' }]);
  });

  it('forgets pending offsets of partitions it lost in a rebalance', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { fake, consumer } = setup({ commitIntervalMs: 250 });
    await consumer.start();
    await deliver(fake, 0, 0, 1);
    await deliver(fake, 0, 1, 1);
    await deliver(fake, 1, 0, 1);
    fake.fire('GROUP_JOIN', { memberAssignment: { 't.ingested': [1] } });
    await jest.advanceTimersByTimeAsync(250);
    expect(fake.commitOffsets).toHaveBeenLastCalledWith([{ topic: 't.ingested', partition: 1, offset: '1' }]);
  });

  it('commits after every chunk with an interval of 0', async () => {
    const { fake, consumer } = setup({ commitIntervalMs: 0 });
    await consumer.start();
    await deliver(fake, 0, 0, 1);
    await deliver(fake, 0, 1, 1);
    expect(fake.commitOffsets).toHaveBeenCalledTimes(2);
  });
});

describe('StageConsumer lifecycle (readiness)', () => {
  afterEach(() => jest.useRealTimers());

  it('is ready once in its group, with a short session and a heartbeat a sixth of it', async () => {
    const { fake, consumer } = setup();
    await expect(consumer.assertRunning()).rejects.toThrow('consumer starting');
    await consumer.start();
    await expect(consumer.assertRunning()).resolves.toBeUndefined();
    expect(fake.config).toMatchObject({ sessionTimeout: 6000, heartbeatInterval: 1000 });
  });

  it('turns not ready while kafkajs restarts it after a retriable crash, and ready again on rejoin', async () => {
    jest.useFakeTimers();
    const { fake, consumer, onFatal } = setup();
    await consumer.start();
    // kafkajs's order on a crash: STOP (it disconnects), then CRASH telling whether it restarts.
    fake.fire('STOP', {});
    fake.fire('CRASH', { error: new Error('connection lost'), restart: true });
    await expect(consumer.assertRunning()).rejects.toThrow('consumer restarting');
    jest.advanceTimersByTime(5000);
    expect(onFatal).not.toHaveBeenCalled();
    fake.fire('GROUP_JOIN', {});
    await expect(consumer.assertRunning()).resolves.toBeUndefined();
  });

  it('is fatal when kafkajs gives up (CRASH without restart): not ready, onFatal once', async () => {
    const { fake, consumer, onFatal } = setup();
    await consumer.start();
    const error = new Error('handler failed 5 times');
    fake.fire('STOP', {});
    fake.fire('CRASH', { error, restart: false });
    await expect(consumer.assertRunning()).rejects.toThrow('consumer crashed');
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(onFatal).toHaveBeenCalledWith(error);
  });

  it('is fatal when the consumer stops without a crash nor a request', async () => {
    jest.useFakeTimers();
    const { fake, consumer, onFatal } = setup();
    await consumer.start();
    fake.fire('STOP', {});
    await expect(consumer.assertRunning()).rejects.toThrow('consumer stopped');
    expect(onFatal).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1000);
    expect(onFatal).toHaveBeenCalledTimes(1);
  });

  it('is not fatal when stopped on purpose (shutdown)', async () => {
    jest.useFakeTimers();
    const { consumer, onFatal } = setup();
    await consumer.start();
    await consumer.stop();
    jest.advanceTimersByTime(5000);
    expect(onFatal).not.toHaveBeenCalled();
    await expect(consumer.assertRunning()).rejects.toThrow('consumer stopped');
  });
});
