import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { ContractRegistry } from '@relay/contracts';
import { RelayMetrics, createLogger } from '@relay/observability';
import type { DurableProducer } from './producer';
import { StageConsumer } from './stage-consumer';

/** The part of a kafkajs Consumer StageConsumer uses, with its instrumentation events fired by hand. */
class FakeConsumer extends EventEmitter {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', STOP: 'consumer.stop' };
  config: Record<string, unknown> = {};
  connect = jest.fn(async () => undefined);
  subscribe = jest.fn(async () => undefined);
  run = jest.fn(async () => {
    this.fire('GROUP_JOIN', {});
  });
  disconnect = jest.fn(async () => {
    this.fire('STOP', {});
  });
  fire(event: 'GROUP_JOIN' | 'CRASH' | 'STOP', payload: Record<string, unknown>): void {
    this.emit(this.events[event], { payload });
  }
}

function setup() {
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
    registry: { topic: (k: string) => `t.${k}` } as unknown as ContractRegistry,
    producer: {} as DurableProducer,
    metrics: new RelayMetrics('test'),
    logger: createLogger('test', 'silent'),
    stage: 'validator',
    groupId: 'g',
    handlers: { ingested: async () => [] },
    batchMax: 10,
    partitionsConcurrency: 1,
    onFatal,
  });
  return { fake, consumer, onFatal };
}

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
