import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import type { ContractRegistry } from '@relay/contracts';
import { RelayMetrics, createLogger } from '@relay/observability';
import type { DurableProducer } from './producer';
import { deferred, ok, type BatchHandler } from './outcome';
import { StageConsumer, type StageConsumerOptions } from './stage-consumer';

/** The part of a kafkajs Consumer StageConsumer uses, with its instrumentation events fired by hand. */
class FakeConsumer extends EventEmitter {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', STOP: 'consumer.stop' };
  config: Record<string, unknown> = {};
  connect = jest.fn(async () => undefined);
  subscribe = jest.fn(async () => undefined);
  commitOffsets = jest.fn(async (_offsets: { topic: string; partition: number; offset: string }[]) => undefined);
  seek = jest.fn((_seek: { topic: string; partition: number; offset: string }) => undefined);
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
  /** The offsets committed so far, as `partition:offset`. */
  committed(): string[] {
    return this.commitOffsets.mock.calls.flatMap(([offsets]) => offsets.map((o) => `${o.partition}:${o.offset}`));
  }
}

function setup(extra: Partial<StageConsumerOptions> = {}) {
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

/** Hands the consumer one batch of `count` messages of partition `partition`, from `first`; resolves when the consumer lets go of it. */
async function deliver(fake: FakeConsumer, partition: number, first: number, count: number, topic = 't.ingested'): Promise<void> {
  await fake.eachBatch?.({
    batch: {
      topic,
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

/** A store whose writes the spec settles by hand: one pending write per handler call. */
class ManualStore {
  readonly writes: { offsets: string[]; resolve: () => void; reject: (error: Error) => void }[] = [];
  readonly handler: BatchHandler<unknown> = async (messages) => {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const durable = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.writes.push({ offsets: messages.map((m) => m.offset), resolve, reject });
    return deferred(
      messages.map(() => ok()),
      durable,
    );
  };
}

/** A history-like stage over `outcomes` whose writes the spec settles by hand. */
function setupDeferred(extra: Partial<StageConsumerOptions> = {}) {
  const store = new ManualStore();
  const metrics = new RelayMetrics('test');
  const { fake, consumer } = setup({
    stage: 'history',
    metrics,
    handlers: { outcomes: store.handler },
    batchMax: 2,
    commitIntervalMs: 0,
    handlerBackoffMs: () => 0,
    ...extra,
  });
  return { fake, store, consumer, metrics };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StageConsumer with deferred outcomes (effects durable after the handler returns)', () => {
  it('goes on to the next chunks before the first is durable, and commits in partition order as they become durable', async () => {
    const { fake, store, consumer, metrics } = setupDeferred();
    await consumer.start();

    // Three chunks of at most 2, all handed to the store without waiting for any write.
    await deliver(fake, 0, 0, 5, 't.outcomes');
    expect(store.writes.map((w) => w.offsets)).toEqual([['0', '1'], ['2', '3'], ['4']]);
    expect(fake.commitOffsets).not.toHaveBeenCalled();
    const deferredGauge = async () => (await metrics.deferredMessages.get()).values.map((v) => v.value);
    expect(await deferredGauge()).toEqual([5]);

    // The second chunk durable first: nothing can be committed past the first.
    store.writes[1]?.resolve();
    await turn();
    expect(fake.commitOffsets).not.toHaveBeenCalled();

    store.writes[0]?.resolve();
    await turn();
    expect(fake.committed()).toEqual(['0:4']);

    store.writes[2]?.resolve();
    await turn();
    expect(fake.committed()).toEqual(['0:4', '0:5']);
    expect(await deferredGauge()).toEqual([0]);
  });

  it('rewinds the partition to a chunk whose write failed, never commits it nor the chunks after it, and counts the failure', async () => {
    const { fake, store, consumer, metrics } = setupDeferred();
    await consumer.start();
    await deliver(fake, 0, 0, 8, 't.outcomes');

    store.writes[0]?.resolve();
    // One failed insert fails the writes of the second and third chunks.
    store.writes[1]?.reject(new Error('ClickHouse unreachable'));
    store.writes[2]?.reject(new Error('ClickHouse unreachable'));
    await turn();
    expect(fake.seek.mock.calls).toEqual([[{ topic: 't.outcomes', partition: 0, offset: '2' }]]);
    // The fourth chunk's rows made it (a later insert), yet its offset is not committed:
    // the partition is read again from offset 2.
    store.writes[3]?.resolve();
    await turn();
    expect(fake.committed()).toEqual(['0:2']);
    expect((await metrics.handlerFailures.get()).values).toEqual([expect.objectContaining({ labels: { stage: 'history' }, value: 1 })]);

    // Read again from the rewind point: committed once durable, the earlier failure forgotten.
    await deliver(fake, 0, 2, 4, 't.outcomes');
    store.writes[4]?.resolve();
    store.writes[5]?.resolve();
    await turn();
    expect(fake.committed()).toEqual(['0:2', '0:4', '0:6']);
  });

  it('commits nothing more of a partition whose rewind cannot be set, and is fatal (the restart reads from the last commit)', async () => {
    const onFatal = jest.fn();
    const { fake, store, consumer } = setupDeferred({ onFatal });
    await consumer.start();
    fake.seek.mockImplementation(() => {
      throw new Error('Consumer group was not initialized');
    });
    await deliver(fake, 0, 0, 4, 't.outcomes');

    store.writes[0]?.reject(new Error('ClickHouse unreachable'));
    await turn();
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(consumer.currentState).toBe('crashed');
    // A later chunk of the partition becomes durable: its offset would skip the failed one.
    store.writes[1]?.resolve();
    await deliver(fake, 0, 4, 2, 't.outcomes');
    store.writes[2]?.resolve();
    await turn();
    expect(fake.commitOffsets).not.toHaveBeenCalled();
  });

  it('keeps the partitions apart: a failure on one rewinds only that one', async () => {
    const { fake, store, consumer } = setupDeferred();
    await consumer.start();
    await deliver(fake, 0, 0, 2, 't.outcomes');
    await deliver(fake, 1, 10, 2, 't.outcomes');

    store.writes[0]?.reject(new Error('insert timed out'));
    store.writes[1]?.resolve();
    await turn();
    expect(fake.seek.mock.calls).toEqual([[{ topic: 't.outcomes', partition: 0, offset: '0' }]]);
    expect(fake.committed()).toEqual(['1:12']);
  });

  it('holds the batch back while more than deferredMaxMessages wait to be durable', async () => {
    const { fake, store, consumer } = setupDeferred({ deferredMaxMessages: 3 });
    await consumer.start();

    let released = false;
    const delivering = deliver(fake, 0, 0, 6, 't.outcomes').then(() => (released = true));
    await turn();
    // 2 + 2 = 4 messages in flight > 3: the third chunk waits for the first write.
    expect(store.writes).toHaveLength(2);
    expect(released).toBe(false);

    store.writes[0]?.resolve();
    await turn();
    await turn();
    expect(store.writes).toHaveLength(3);
    store.writes[1]?.resolve();
    store.writes[2]?.resolve();
    await delivering;
    expect(released).toBe(true);
  });

  it('forgets the chunks of a partition it lost in a rebalance: their writes commit nothing', async () => {
    const { fake, store, consumer } = setupDeferred();
    await consumer.start();
    await deliver(fake, 0, 0, 2, 't.outcomes');
    await deliver(fake, 1, 0, 2, 't.outcomes');

    fake.emit(fake.events.GROUP_JOIN, { payload: { memberAssignment: { 't.outcomes': [1] } } });
    store.writes[0]?.resolve();
    store.writes[1]?.resolve();
    await turn();
    expect(fake.committed()).toEqual(['1:2']);
  });

  it('on stop, waits for deferred writes to be durable and commits them before leaving', async () => {
    const { fake, store, consumer } = setupDeferred();
    await consumer.start();
    await deliver(fake, 0, 0, 2, 't.outcomes');

    const stopping = consumer.stop();
    await turn();
    expect(fake.disconnect).not.toHaveBeenCalled();
    store.writes[0]?.resolve();
    await stopping;
    expect(fake.committed()).toEqual(['0:2']);
    expect(fake.disconnect).toHaveBeenCalledTimes(1);
    // The commit came before the disconnect.
    expect(fake.commitOffsets.mock.invocationCallOrder[0]).toBeLessThan(fake.disconnect.mock.invocationCallOrder[0] as number);
  });
});
