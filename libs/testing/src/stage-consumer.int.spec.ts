import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { ContractRegistry, type DeadLetter, type EventEnvelope } from '@relay/contracts';
import { DurableProducer, StageConsumer, ok, prepareWire, type InboundMessage } from '@relay/kafka';
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

  const startStage = async (
    stage: string,
    handle: (m: InboundMessage<EventEnvelope>) => void,
    onCall: (messages: InboundMessage<EventEnvelope>[]) => void = () => undefined,
  ) => {
    const metrics = new RelayMetrics(stage);
    const consumer = new StageConsumer({
      kafka,
      registry,
      producer,
      metrics,
      logger: createLogger(stage, 'silent'),
      stage,
      groupId: `${prefix}-${stage}`,
      handlers: {
        ingested: async (messages: InboundMessage<EventEnvelope>[]) => {
          onCall(messages);
          messages.forEach(handle);
          return messages.map(() => ok());
        },
      },
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
    const metrics = await startStage('poison', (m) => {
      if (m.value.code_name === 'poison') throw Object.assign(new Error('field total is not a number'), { code: 'BAD_TOTAL' });
      handled.push(m.value.event_id);
    });
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
      (m) => {
        if (storeDown) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        handled.push(m.value.event_id);
      },
      (messages) => {
        if (!storeDown || !messages.every((m) => ours.has(m.value.event_id))) return;
        if (messages.length === 1) singles++;
        else if (singles > 0 && messages.length === events.length) wholeAfterSingles++;
      },
    );
    await produce('contact-2', events);
    await until(() => (wholeAfterSingles >= 2 ? true : undefined), 'a second round on the same records');
    expect(await handlerFailures(metrics)).toBeGreaterThan(6);
    storeDown = false;
    // (This group reads the topic from the beginning: the first test's records are handled too.)
    await until(() => (events.every((e) => handled.includes(e.event_id)) ? true : undefined), 'every record handled after the outage');
    expect(deadLetters.filter((d) => d.value.stage === 'outage')).toHaveLength(0);
  });
});
