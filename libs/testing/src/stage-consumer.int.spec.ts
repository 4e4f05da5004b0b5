import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { ContractRegistry, type DeadLetter, type EventEnvelope } from '@relay/contracts';
import { DurableProducer, StageConsumer, deferred, ok, prepareWire, type BatchHandler, type InboundMessage } from '@relay/kafka';
import { RelayMetrics, createLogger } from '@relay/observability';
import { makeEnvelope } from './factories';
import { eventually, sharedInfra } from './relay-harness';

// StageConsumer (libs/kafka) against the run's real broker and registry.

const { brokers, registryUrl } = sharedInfra();

/** Waits for `probe` to hold (or give a value), with a deadline. */
const until = <T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> =>
  eventually(async () => probe(), 60000, 100).catch((error: unknown) => {
    throw new Error(`${what}: ${(error as Error).message}`);
  });

const handlerFailures = async (metrics: RelayMetrics): Promise<number> => (await metrics.handlerFailures.get()).values.reduce((sum, v) => sum + v.value, 0);

const envelope = (code: string): EventEnvelope => makeEnvelope({ team_id: 'team-poison', code_name: code });

describe('StageConsumer: poison records and store outages (real Kafka)', () => {
  const prefix = `it-poison-${randomBytes(4).toString('hex')}`;
  const kafka = new Kafka({ clientId: 'stage-consumer-it', brokers, logLevel: logLevel.NOTHING });
  const registry = new ContractRegistry({ url: registryUrl, topicPrefix: prefix });
  const producer = new DurableProducer(kafka);
  const deadLetters: { value: DeadLetter; headers: Record<string, string> }[] = [];
  let dlqConsumer: Consumer;
  const running: StageConsumer[] = [];

  const produce = async (key: string, values: EventEnvelope[]) =>
    producer.sendBatch([
      { topic: registry.topic('ingested'), messages: await Promise.all(values.map(async (v) => ({ key, value: await registry.encode('ingested', v) }))) },
    ]);

  /** A handler that handles each message with `handle` (which may throw), after `onCall` saw the call. */
  const eachMessage =
    (
      handle: (m: InboundMessage<EventEnvelope>) => void,
      onCall: (messages: InboundMessage<EventEnvelope>[]) => void = () => undefined,
    ): BatchHandler<EventEnvelope> =>
    async (messages) => {
      onCall(messages);
      messages.forEach(handle);
      return messages.map(() => ok());
    };

  const startStage = async (stage: string, ingested: BatchHandler<EventEnvelope>) => {
    const metrics = new RelayMetrics(stage);
    const consumer = new StageConsumer({
      kafka,
      registry,
      producer,
      metrics,
      logger: createLogger(stage, 'silent'),
      stage,
      groupId: `${prefix}-${stage}`,
      handlers: { ingested },
      batchMax: 100,
      partitionsConcurrency: 6,
      handlerAttempts: 2,
      handlerBackoffMs: () => 50,
    });
    running.push(consumer);
    await consumer.start();
    return metrics;
  };

  beforeAll(async () => {
    await prepareWire(kafka, registry, prefix);
    await producer.connect();
    dlqConsumer = kafka.consumer({ groupId: `${prefix}-dlq-reader` });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topics: [registry.topic('dlq')], fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }: { message: KafkaMessage }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        deadLetters.push({ value: (await registry.decode('dlq', message.value)).value, headers });
      },
    });
  });

  afterAll(async () => {
    for (const c of running) await c.stop();
    await dlqConsumer?.disconnect();
    await producer.disconnect();
  });

  it('dead-letters the record that makes the handler throw, with the reason in headers, and moves on', async () => {
    const handled: string[] = [];
    const metrics = await startStage(
      'poison',
      eachMessage((m) => {
        if (m.value.code_name === 'poison') throw Object.assign(new Error('field total is not a number'), { code: 'BAD_TOTAL' });
        handled.push(m.value.event_id);
      }),
    );
    // The poison record first and alone: with no neighbour it cannot be told from an outage,
    // so it waits (uncommitted) until records arrive behind it.
    const poison = envelope('poison');
    await produce('contact-1', [poison]);
    await until(async () => ((await handlerFailures(metrics)) >= 2 ? true : undefined), 'the lone poison record to fail');
    expect(deadLetters.filter((d) => d.value.stage === 'poison')).toHaveLength(0);

    const good = Array.from({ length: 9 }, () => envelope('purchase'));
    await produce('contact-1', good);
    await until(() => (handled.length >= 9 ? true : undefined), 'the good records to be handled');
    const dead = await until(() => deadLetters.find((d) => d.value.stage === 'poison'), 'the dead letter');

    expect(new Set(handled)).toEqual(new Set(good.map((g) => g.event_id)));
    expect(dead.value).toMatchObject({
      source_topic: registry.topic('ingested'),
      reason_code: 'HANDLER_FAILED',
      stage: 'poison',
    });
    expect(dead.value.reason).toContain('BAD_TOTAL: field total is not a number');
    expect(dead.headers).toMatchObject({
      'relay-dlq-reason-code': 'HANDLER_FAILED',
      'relay-dlq-error-code': 'BAD_TOTAL',
      'relay-dlq-attempts': '4',
      'relay-dlq-stage': 'poison',
    });
    expect(dead.headers['relay-dlq-reason']).toContain('field total is not a number');
    // Decoding the dead letter's value gives back the poison record itself.
    const original = await registry.decode('ingested', dead.value.value);
    expect(original.value.event_id).toBe(poison.event_id);
    const dlqCount = (await metrics.deadLettered.get()).values.find((v) => v.labels.reason === 'HANDLER_FAILED');
    expect(dlqCount?.value).toBe(1);
  });

  it('never dead-letters a batch while its store is down: retries uncommitted, then handles everything', async () => {
    let storeDown = true;
    const handled: string[] = [];
    const events = Array.from({ length: 12 }, (_, i) => envelope(`purchase-${i}`));
    const ours = new Set(events.map((e) => e.event_id));
    // What the outage looked like from the handler: calls on one message (the search for a
    // poison record reached single messages), then calls on several again (the chunk was
    // left uncommitted, fetched again and retried whole).
    let singles = 0;
    let wholeAfterSingles = 0;
    const metrics = await startStage(
      'outage',
      eachMessage(
        (m) => {
          if (storeDown) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
          handled.push(m.value.event_id);
        },
        (messages) => {
          if (!storeDown || !messages.every((m) => ours.has(m.value.event_id))) return;
          if (messages.length === 1) singles++;
          else if (singles > 0 && messages.length === events.length) wholeAfterSingles++;
        },
      ),
    );
    await produce('contact-2', events);
    await until(() => (wholeAfterSingles >= 2 ? true : undefined), 'a second round on the same records');
    expect(await handlerFailures(metrics)).toBeGreaterThan(6);
    storeDown = false;
    // (This group reads the topic from the beginning: the first test's records are handled too.)
    await until(() => (events.every((e) => handled.includes(e.event_id)) ? true : undefined), 'every record handled after the outage');
    expect(deadLetters.filter((d) => d.value.stage === 'outage')).toHaveLength(0);
  });
  it('with deferred effects: fetches on before they are durable, commits once they are, and reads a partition again from a chunk whose effects failed', async () => {
    // A store that writes in time windows, settled by the spec: the effects of each call on
    // our records wait for the spec's word while `holding`, then succeed at once.
    let holding = true;
    const calls: { ids: string[]; settle: (written: boolean) => void }[] = [];
    const durable = new Set<string>();
    const first = Array.from({ length: 5 }, (_, i) => envelope(`order-${i}`));
    const second = Array.from({ length: 5 }, (_, i) => envelope(`order-${i + 5}`));
    const ours = new Set([...first, ...second].map((e) => e.event_id));
    const handedOver = new Map<string, number>();
    const metrics = await startStage('deferred', async (messages) => {
      const ids = messages.map((m) => m.value.event_id).filter((id) => ours.has(id));
      for (const id of ids) handedOver.set(id, (handedOver.get(id) ?? 0) + 1);
      let settle!: (written: boolean) => void;
      const effects = new Promise<void>((resolve, reject) => {
        settle = (written) => {
          if (!written) return reject(new Error('insert failed: ClickHouse unreachable'));
          ids.forEach((id) => durable.add(id));
          resolve();
        };
      });
      if (ids.length > 0 && holding) calls.push({ ids, settle });
      else settle(true);
      return deferred(
        messages.map(() => ok()),
        effects,
      );
    });
    const calledWith = (batch: EventEnvelope[], from = 0) => calls.slice(from).some((c) => batch.every((e) => c.ids.includes(e.event_id)));

    await produce('contact-3', first);
    await until(() => (calledWith(first) ? true : undefined), 'the first records handed to the store');
    // Their effects are not durable, yet the partition goes on with the next records.
    await produce('contact-3', second);
    await until(() => (calledWith(second) ? true : undefined), 'the next records handed to the store while the first wait');
    expect(durable.size).toBe(0);

    // The first insert fails (and with it the second, as a writer fails every row it holds):
    // the partition is rewound and both are handed over again.
    for (const c of calls) c.settle(false);
    holding = false;
    await until(() => ([...ours].every((id) => durable.has(id)) ? true : undefined), 'every record durable after the rewind');
    // Read again from the rewind point: every record of the failed chunks came twice.
    expect([...ours].filter((id) => (handedOver.get(id) ?? 0) < 2)).toEqual([]);
    expect(await handlerFailures(metrics)).toBeGreaterThanOrEqual(1);

    // And the group's committed offsets reach the end of the topic.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = registry.topic('ingested');
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
      await until(async () => {
        const [committed] = await admin.fetchOffsets({ groupId: `${prefix}-deferred`, topics: [topic] });
        // An empty partition has nothing to commit (-1).
        return committed?.partitions.every((p) => p.offset === ends.get(p.partition) || ends.get(p.partition) === '0') ? true : undefined;
      }, 'the committed offsets to reach the end of the topic');
    } finally {
      await admin.disconnect();
    }
    expect(deadLetters.filter((d) => d.value.stage === 'deferred')).toHaveLength(0);
  });
});
