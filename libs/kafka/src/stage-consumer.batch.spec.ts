import type { EachBatchPayload, Kafka, KafkaMessage, TopicMessages } from 'kafkajs';
import { ContractError, type ContractRegistry, type DeadLetter, type EventEnvelope } from '@relay/contracts';
import { RelayMetrics, createLogger } from '@relay/observability';
import { dlq, ok, type BatchHandler, type InboundMessage, type MessageOutcome } from './outcome';
import type { DurableProducer } from './producer';
import { StageConsumer, StageConsumerError } from './stage-consumer';

/**
 * In-memory stand-ins for the kafkajs consumer and the durable producer: the consumer hands
 * the batch function StageConsumer registers to the spec, which calls it with batches it
 * builds; every produce and commit goes to one ordered log, so a spec can say what happened
 * before what.
 */
type LogEntry = { kind: 'send'; topicMessages: TopicMessages[] } | { kind: 'commit'; topic: string; partition: number; offset: string };

class FakeKafka {
  readonly log: LogEntry[] = [];
  eachBatch: ((payload: EachBatchPayload) => Promise<void>) | null = null;
  /** What the next sends do: resolve, or fail with the error given. */
  sendFailures: Error[] = [];
  /** While set, a send waits for it: lets a spec look at the moment before the acknowledgement. */
  sendGate: Promise<void> | null = null;

  readonly producer = {
    sendBatch: async (topicMessages: TopicMessages[]) => {
      if (this.sendGate) await this.sendGate;
      const failure = this.sendFailures.shift();
      if (failure) throw failure;
      this.log.push({ kind: 'send', topicMessages });
    },
  } as unknown as DurableProducer;

  readonly kafka = {
    consumer: () => ({
      events: { GROUP_JOIN: 'join', CRASH: 'crash', STOP: 'stop' },
      on: () => undefined,
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
        this.eachBatch = config.eachBatch;
      },
      commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
        for (const o of offsets) this.log.push({ kind: 'commit', ...o });
      },
      disconnect: async () => undefined,
    }),
  } as unknown as Kafka;

  sends(): { topic: string; value: unknown; headers: Record<string, string> }[] {
    return this.log.flatMap((e) =>
      e.kind === 'send'
        ? e.topicMessages.flatMap((t) =>
            t.messages.map((m) => ({
              topic: t.topic,
              value: JSON.parse((m.value as Buffer).toString()) as unknown,
              headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
            })),
          )
        : [],
    );
  }

  commits(): string[] {
    return this.log.flatMap((e) => (e.kind === 'commit' ? [e.offset] : []));
  }
}

/** JSON instead of Avro: `t.<key>` topics; a value that is not JSON is undecodable, as a foreign record would be. */
const registry = {
  topic: (key: string) => `t.${key}`,
  decode: async (_key: string, value: Buffer | null) => {
    try {
      return { schemaId: 1, value: JSON.parse((value as Buffer).toString()) as unknown };
    } catch {
      throw new ContractError('UNDECODABLE', 'not an encoded record');
    }
  },
  encode: async (_key: string, value: unknown) => Buffer.from(JSON.stringify(value, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString() : v))),
} as unknown as ContractRegistry;

type Event = { id: string };

function message(offset: number, value: Event | string): KafkaMessage {
  return {
    offset: String(offset),
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: '0',
    attributes: 0,
    headers: {},
  };
}

function batchPayload(messages: KafkaMessage[]): EachBatchPayload {
  return {
    batch: { topic: 't.ingested', partition: 0, highWatermark: String(messages.length), messages },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
}

/** A stage that forwards each event to `validated`, with the handler's behaviour given per spec. */
async function startStage(fake: FakeKafka, handler: BatchHandler<Event>, options: { batchMax?: number; attempts?: number; commitIntervalMs?: number } = {}) {
  const metrics = new RelayMetrics('test');
  const stage = new StageConsumer({
    kafka: fake.kafka,
    registry,
    producer: fake.producer,
    metrics,
    logger: createLogger('test', 'silent'),
    stage: 'validator',
    groupId: 'g',
    handlers: { ingested: handler as unknown as BatchHandler<EventEnvelope> },
    batchMax: options.batchMax ?? 100,
    partitionsConcurrency: 1,
    handlerAttempts: options.attempts ?? 3,
    handlerBackoffMs: () => 0,
    ...(options.commitIntervalMs !== undefined ? { commitIntervalMs: options.commitIntervalMs } : {}),
  });
  await stage.start();
  if (!fake.eachBatch) throw new Error('the stage registered no batch function');
  return { run: fake.eachBatch, metrics, stage };
}

const forward = (m: InboundMessage<Event>): MessageOutcome => ok({ topic: 'validated', key: m.value.id, value: m.value as never });

describe('StageConsumer batches (fake kafkajs consumer and producer)', () => {
  it('commits past a chunk only once its outputs are acknowledged', async () => {
    const fake = new FakeKafka();
    let release: () => void = () => undefined;
    fake.sendGate = new Promise<void>((resolve) => (release = resolve));
    const { run } = await startStage(fake, async (ms) => ms.map(forward));

    let settled = false;
    const running = run(batchPayload([message(10, { id: 'a' }), message(11, { id: 'b' })])).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.log).toEqual([]);
    expect(settled).toBe(false);

    release();
    await running;
    expect(fake.log.map((e) => e.kind)).toEqual(['send', 'commit']);
    expect(fake.sends().map((s) => [s.topic, s.value])).toEqual([
      ['t.validated', { id: 'a' }],
      ['t.validated', { id: 'b' }],
    ]);
    // The committed offset is the next one to read.
    expect(fake.commits()).toEqual(['12']);
  });

  it('does not commit when the produce fails: the batch fails and is fetched again', async () => {
    const fake = new FakeKafka();
    fake.sendFailures = [new Error('not enough in-sync replicas')];
    const { run } = await startStage(fake, async (ms) => ms.map(forward));

    await expect(run(batchPayload([message(0, { id: 'a' })]))).rejects.toThrow('not enough in-sync replicas');
    expect(fake.commits()).toEqual([]);
  });

  it('with a commit interval of 0, commits chunk by chunk (batchMax), each after its own send', async () => {
    const fake = new FakeKafka();
    const { run } = await startStage(fake, async (ms) => ms.map(forward), { batchMax: 2, commitIntervalMs: 0 });

    await run(batchPayload([0, 1, 2, 3, 4].map((i) => message(i, { id: `e${i}` }))));
    expect(fake.log.map((e) => (e.kind === 'commit' ? `commit ${e.offset}` : `send ${e.topicMessages[0]?.messages.length}`))).toEqual([
      'send 2',
      'commit 2',
      'send 2',
      'commit 4',
      'send 1',
      'commit 5',
    ]);
  });

  it('by default gathers durable offsets and commits them together, by time, and on stop', async () => {
    const fake = new FakeKafka();
    const { run, stage } = await startStage(fake, async (ms) => ms.map(forward), { batchMax: 2, commitIntervalMs: 60000 });

    await run(batchPayload([0, 1, 2, 3, 4].map((i) => message(i, { id: `e${i}` }))));
    const steps = () => fake.log.map((e) => (e.kind === 'commit' ? `commit ${e.offset}` : `send ${e.topicMessages[0]?.messages.length}`));
    // The first durable chunk commits at once (no commit yet); the next ones wait for the interval.
    expect(steps()).toEqual(['send 2', 'commit 2', 'send 2', 'send 1']);
    await stage.stop();
    expect(steps()).toEqual(['send 2', 'commit 2', 'send 2', 'send 1', 'commit 5']);
  });

  it('retries a handler that fails and then succeeds: nothing dead-lettered, outputs produced once', async () => {
    const fake = new FakeKafka();
    let calls = 0;
    const { run, metrics } = await startStage(fake, async (ms) => {
      calls++;
      if (calls < 3) throw new Error('database restarting');
      return ms.map(forward);
    });

    await run(batchPayload([message(0, { id: 'a' }), message(1, { id: 'b' })]));
    expect(calls).toBe(3);
    expect(fake.sends().map((s) => s.topic)).toEqual(['t.validated', 't.validated']);
    expect(fake.commits()).toEqual(['2']);
    expect((await metrics.handlerFailures.get()).values.reduce((n, v) => n + v.value, 0)).toBe(2);
  });

  it('bisects a chunk to dead-letter the one record that makes the handler throw, and moves on', async () => {
    const fake = new FakeKafka();
    const { run, metrics } = await startStage(fake, async (ms) => {
      if (ms.some((m) => m.value.id === 'poison')) throw Object.assign(new Error('cannot handle poison'), { code: 'BOOM' });
      return ms.map(forward);
    });

    const ids = ['a', 'b', 'poison', 'c', 'd'];
    await run(batchPayload(ids.map((id, i) => message(i, { id }))));

    const sent = fake.sends();
    expect(sent.filter((s) => s.topic === 't.validated').map((s) => s.value)).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
    const dead = sent.filter((s) => s.topic === 't.dlq');
    expect(dead).toHaveLength(1);
    expect(dead[0]?.value).toMatchObject({
      source_topic: 't.ingested',
      source_partition: 0,
      source_offset: '2',
      stage: 'validator',
      reason_code: 'HANDLER_FAILED',
    } satisfies Partial<DeadLetter>);
    expect(String((dead[0]?.value as { reason: string }).reason)).toContain('cannot handle poison');
    expect(dead[0]?.headers).toMatchObject({ 'relay-dlq-reason-code': 'HANDLER_FAILED', 'relay-dlq-error-code': 'BOOM' });
    expect(fake.commits()).toEqual(['5']);
    const deadLettered = (await metrics.deadLettered.get()).values;
    expect(deadLettered).toEqual([expect.objectContaining({ labels: { stage: 'validator', reason: 'HANDLER_FAILED' }, value: 1 })]);
  });

  it('dead-letters nothing and commits nothing when every record fails (a store is down)', async () => {
    const fake = new FakeKafka();
    const { run } = await startStage(fake, async () => {
      throw new Error('connection refused');
    });

    const failure = run(batchPayload([0, 1, 2, 3].map((i) => message(i, { id: `e${i}` }))));
    await expect(failure).rejects.toBeInstanceOf(StageConsumerError);
    await expect(failure).rejects.toMatchObject({ code: 'HANDLER_FAILED' });
    expect(fake.log).toEqual([]);
  });

  it('sends an undecodable record and a handler `dlq` outcome to the dead-letter topic with their reasons, beside the good outputs', async () => {
    const fake = new FakeKafka();
    const { run } = await startStage(fake, async (ms) => ms.map((m) => (m.value.id === 'refused' ? dlq('TYPE_UNKNOWN', 'no such event type') : forward(m))));

    await run(batchPayload([message(0, { id: 'a' }), message(1, 'not json'), message(2, { id: 'refused' })]));

    const sent = fake.sends();
    expect(sent.filter((s) => s.topic === 't.validated').map((s) => s.value)).toEqual([{ id: 'a' }]);
    expect(sent.filter((s) => s.topic === 't.dlq').map((s) => s.value)).toEqual([
      expect.objectContaining({ source_offset: '1', reason_code: 'UNDECODABLE' }),
      expect.objectContaining({ source_offset: '2', reason_code: 'TYPE_UNKNOWN', reason: 'no such event type' }),
    ]);
    expect(fake.log.map((e) => e.kind)).toEqual(['send', 'commit']);
    expect(fake.commits()).toEqual(['3']);
  });
});
