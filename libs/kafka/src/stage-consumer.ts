import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { ContractError, type ContractRegistry, type DeadLetter, type TopicKey, type TopicValue } from '@relay/contracts';
import type { Logger, RelayMetrics } from '@relay/observability';
import type { DurableProducer } from './producer';
import type { BatchHandler, InboundMessage, MessageOutcome } from './outcome';

export interface StageConsumerOptions {
  kafka: Kafka;
  registry: ContractRegistry;
  producer: DurableProducer;
  metrics: RelayMetrics;
  logger: Logger;
  /** Stage name: consumer group id suffix, metric label, DLQ `stage`. */
  stage: string;
  groupId: string;
  /** Topic keys and the handler of each. */
  handlers: Partial<{ [K in TopicKey]: BatchHandler<TopicValue<K>> }>;
  /** Max messages handed to a handler at once. */
  batchMax: number;
  /** Partitions processed at once by this instance: the bound on work in flight. */
  partitionsConcurrency: number;
  /** Broker-side batching of fetches: wait up to fetchMaxWaitMs for fetchMinBytes. */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  /** Attempts of a failing handler before the batch is left uncommitted for redelivery. */
  handlerAttempts?: number;
  fromBeginning?: boolean;
}

export class StageConsumerError extends Error {
  constructor(
    readonly code: 'HANDLER_FAILED' | 'OUTCOME_MISMATCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StageConsumerError';
  }
}

/**
 * Runs one stage: consumes its topics in batches, decodes with the registry, hands the
 * decoded messages to the stage's handler, produces the outputs and dead letters with
 * acks=all, and only then commits the offsets (at-least-once; downstream dedups on
 * event_id).
 *
 * - Offsets are committed per chunk after its output is durable; nothing is auto-committed.
 * - A message that cannot be decoded, or that its handler sends to `dlq`, goes to the
 *   dead-letter topic with topic/partition/offset and the reason, so it never blocks its
 *   partition.
 * - A handler that throws is treated as transient (a store is down): retried with backoff,
 *   then the error propagates so kafkajs restarts the consumer from the last commit.
 * - On rebalance (stale batch) or shutdown, the current chunk finishes and commits; the
 *   rest of the batch is left to the next owner.
 */
export class StageConsumer {
  private consumer: Consumer | null = null;
  private readonly log: Logger;

  constructor(private readonly options: StageConsumerOptions) {
    this.log = options.logger.child({ component: 'stage-consumer', stage: options.stage });
  }

  async start(): Promise<void> {
    const { kafka, groupId, registry } = this.options;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: 1024 * 1024,
      // Let the broker gather a batch for a few milliseconds instead of answering every fetch
      // with the first record: at HTTP rates stages otherwise handled 5–35 messages per batch
      // and every per-batch cost (produce, commit, database round trips) was paid per handful
      // (npm run bench). Costs at most fetchMaxWaitMs of latency per stage when traffic is low.
      minBytes: this.options.fetchMinBytes ?? 16 * 1024,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs ?? 25,
      retry: { retries: 10, initialRetryTime: 300 },
    });
    this.consumer = consumer;
    await consumer.connect();
    const topics = (Object.keys(this.options.handlers) as TopicKey[]).map((k) => registry.topic(k));
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.log.info({ groupId, topics }, 'consuming');
  }

  /** Stops fetching, lets the batch in progress finish and commit, then disconnects. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) await consumer.disconnect();
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { registry, metrics, stage } = this.options;
    const topicKey = (Object.keys(this.options.handlers) as TopicKey[]).find((k) => registry.topic(k) === batch.topic);
    if (!topicKey) return;
    const handler = this.options.handlers[topicKey] as BatchHandler<unknown>;

    for (let start = 0; start < batch.messages.length; start += this.options.batchMax) {
      if (!payload.isRunning() || payload.isStale()) break;
      const chunk = batch.messages.slice(start, start + this.options.batchMax);
      const startedAt = process.hrtime.bigint();
      metrics.consumed.inc({ stage, topic: batch.topic }, chunk.length);

      const outcomes = await this.process(topicKey, batch.topic, batch.partition, chunk, handler);
      await this.writeOutcomes(batch.topic, batch.partition, chunk, outcomes);

      const last = chunk[chunk.length - 1] as KafkaMessage;
      payload.resolveOffset(last.offset);
      // The committed offset is the next one to read.
      await this.consumer?.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
      metrics.batchSeconds.observe({ stage }, Number(process.hrtime.bigint() - startedAt) / 1e9);
      metrics.batchSize.observe({ stage }, chunk.length);
      metrics.consumerLag.set(
        { group: this.options.groupId, topic: batch.topic, partition: String(batch.partition) },
        Math.max(0, Number(BigInt(batch.highWatermark) - 1n - BigInt(last.offset))),
      );
      await payload.heartbeat();
    }
  }

  private async process(
    topicKey: TopicKey,
    topic: string,
    partition: number,
    chunk: KafkaMessage[],
    handler: BatchHandler<unknown>,
  ): Promise<MessageOutcome[]> {
    const outcomes: (MessageOutcome | undefined)[] = chunk.map(() => undefined);
    const decoded: { index: number; message: InboundMessage<unknown> }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const m = chunk[i] as KafkaMessage;
      try {
        const { schemaId, value } = await this.options.registry.decode(topicKey, m.value);
        decoded.push({
          index: i,
          message: {
            topic,
            partition,
            offset: m.offset,
            key: m.key,
            headers: headersToStrings(m.headers),
            timestamp: m.timestamp,
            schemaId,
            value,
          },
        });
      } catch (error) {
        if (error instanceof ContractError && error.code === 'REGISTRY_UNAVAILABLE') throw error; // transient
        const code = error instanceof ContractError ? error.code : 'UNDECODABLE';
        outcomes[i] = { kind: 'dlq', code, reason: (error as Error).message };
      }
    }
    if (decoded.length > 0) {
      const results = await this.callHandler(handler, decoded.map((d) => d.message));
      if (results.length !== decoded.length) {
        throw new StageConsumerError(
          'OUTCOME_MISMATCH',
          `${this.options.stage} handler returned ${results.length} outcomes for ${decoded.length} messages`,
        );
      }
      decoded.forEach((d, j) => (outcomes[d.index] = results[j]));
    }
    return outcomes as MessageOutcome[];
  }

  private async callHandler(handler: BatchHandler<unknown>, messages: InboundMessage<unknown>[]): Promise<MessageOutcome[]> {
    const attempts = this.options.handlerAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await handler(messages);
      } catch (error) {
        if (attempt >= attempts) {
          throw new StageConsumerError('HANDLER_FAILED', `${this.options.stage} handler failed ${attempt} times`, {
            cause: error,
          });
        }
        const delay = Math.min(5000, 200 * 2 ** (attempt - 1));
        this.log.warn({ err: error, attempt, delay }, 'handler failed; retrying the batch');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async writeOutcomes(topic: string, partition: number, chunk: KafkaMessage[], outcomes: MessageOutcome[]): Promise<void> {
    const { registry, producer, metrics, stage } = this.options;
    const byTopic = new Map<string, { key: string | Buffer | null; value: Buffer; headers?: IHeaders }[]>();
    const push = (t: string, m: { key: string | Buffer | null; value: Buffer; headers?: IHeaders }) => {
      const list = byTopic.get(t) ?? [];
      list.push(m);
      byTopic.set(t, list);
    };
    const deadLetters: { message: KafkaMessage; code: string; reason: string }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const outcome = outcomes[i] as MessageOutcome;
      const message = chunk[i] as KafkaMessage;
      switch (outcome.kind) {
        case 'ok':
          for (const out of outcome.outputs) {
            try {
              const value = await registry.encode(out.topic, out.value);
              push(registry.topic(out.topic), { key: out.key, value, ...(out.headers ? { headers: out.headers } : {}) });
            } catch (error) {
              // A handler produced a value its own contract refuses: a bug, but the message
              // must not block the partition. It is dead-lettered with the reason.
              deadLetters.push({ message, code: 'OUTPUT_INVALID', reason: (error as Error).message });
            }
          }
          break;
        case 'dlq':
          deadLetters.push({ message, code: outcome.code, reason: outcome.reason });
          break;
        case 'drop':
          this.log.debug({ topic, partition, offset: message.offset, reason: outcome.reason }, 'dropped');
          break;
      }
    }
    for (const d of deadLetters) {
      const record: DeadLetter = {
        source_topic: topic,
        source_partition: partition,
        source_offset: d.message.offset,
        stage,
        reason_code: d.code,
        reason: d.reason.slice(0, 4000),
        failed_at: Date.now(),
        key: d.message.key ?? null,
        value: d.message.value ?? null,
        headers: headersToStrings(d.message.headers),
      };
      push(registry.topic('dlq'), { key: d.message.key ?? null, value: await registry.encode('dlq', record) });
      metrics.deadLettered.inc({ stage, reason: d.code });
      this.log.warn({ topic, partition, offset: d.message.offset, reason_code: d.code, reason: d.reason }, 'dead-lettered');
    }
    await producer.sendBatch([...byTopic].map(([t, messages]) => ({ topic: t, messages })));
    for (const [t, messages] of byTopic) metrics.produced.inc({ stage, topic: t }, messages.length);
  }
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map((x) => x.toString()).join(',') : v.toString();
  }
  return out;
}
