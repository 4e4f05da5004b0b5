import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { GroupedCalls } from './grouped-calls';
import { JavaCompatiblePartitioner } from './partitioner';
import { TopicBatch } from './produce';

/** Sends of the partitions kafkajs skipped (see sendBatch) before the call fails. */
const MAX_SEND_ROUNDS = 4;
/** Messages of concurrent calls sent together in one produce at most (see sendBatch). */
const MAX_GROUP_MESSAGES = 10_000;
/**
 * Kafka errors about the records themselves rather than the broker: in a group, one
 * caller's records may be the cause, so each caller is then answered on its own send.
 */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'CORRUPT_MESSAGE', 'INVALID_RECORD', 'INVALID_TIMESTAMP']);

function isRecordError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (RECORD_ERRORS.has(String((e as { type?: unknown }).type))) return true;
  }
  return false;
}

/**
 * A producer that only reports success once every in-sync replica has the records
 * (acks = -1, i.e. acks=all). Used by every stage for its output and by the gateway
 * before it answers 2xx.
 *
 * Idempotent (a producer id and per-partition sequence numbers): a retry of a request
 * whose answer was lost — a leader change, a broker killed mid-request — is recognised by
 * the broker instead of appended twice. kafkajs's constraints, checked against 2.2.4:
 * acks must be -1 (always the case here); it holds a per-broker lock from assigning the
 * sequence numbers until the answer, so at most one produce request per broker is in
 * flight and batches cannot reorder (maxInFlightRequests: 1 would additionally queue
 * metadata requests behind produces, for no gain); the cost is that throughput per broker
 * is one round trip at a time (measured in docs/reliability.md).
 */
export class DurableProducer {
  private producer: Producer;
  private connected = false;
  /**
   * Set when a send failed: the kafkajs producer's sequence numbers can no longer be trusted
   * (see renew()), so the next send first replaces it.
   */
  private stale = false;
  private renewed = 0;
  /** The partition kafkajs's last attempt put each message in (see sendBatch). */
  private readonly partitionOf = new WeakMap<Message, number>();
  /** Concurrent sends, grouped by the produce in flight (see sendBatch). */
  private readonly calls = new GroupedCalls<TopicMessages[], void>({
    units: (topicMessages) => topicMessages.reduce((n, t) => n + t.messages.length, 0),
    maxUnits: MAX_GROUP_MESSAGES,
    aloneAfter: isRecordError,
    run: async (calls) => {
      await this.sendAll(calls.length === 1 ? calls[0]! : mergeTopics(calls));
      return calls.map(() => undefined);
    },
  });

  constructor(private readonly kafka: Kafka) {
    this.producer = this.create();
  }

  /** How many times a failed send made this producer start over with a new producer id. */
  get renewals(): number {
    return this.renewed;
  }

  private create(): Producer {
    return this.kafka.producer({
      allowAutoTopicCreation: false,
      // murmur2 on the key, the Java client's partitioner (kafkajs's, with a fast hash): records
      // keyed by team+target land on the same partition whether a Relay service or a Java
      // producer wrote them. Wrapped to remember where each message went, and to keep a
      // message where it first went when kafkajs partitions it again for a retry: a retry must
      // resend the very batches of the first attempt (same records under the same sequence
      // numbers), which a keyless message's round-robin would reshuffle.
      createPartitioner: () => {
        const partitioner = JavaCompatiblePartitioner();
        return (args) => {
          const known = this.partitionOf.get(args.message);
          // Partition ids are 0..n-1 and a topic's partitions are never removed.
          if (known !== undefined && known < args.partitionMetadata.length) return known;
          const partition = partitioner(args);
          this.partitionOf.set(args.message, partition);
          return partition;
        };
      },
      idempotent: true,
      // Bounded, unlike kafkajs's idempotent default (retry forever): a caller waiting for a
      // 2xx must get an answer. When the retries run out the send fails and nothing is
      // acknowledged — though some of its records may have been appended; the producer then
      // starts over under a new producer id (see renew()), and downstream stages absorb any
      // copy of a record sent again (every record carries a stable event_id).
      retry: { retries: 5, initialRetryTime: 100 },
    });
  }

  /**
   * Why a failed send replaces the kafkajs producer. kafkajs 2.2.4 assigns a partition's
   * sequence numbers before a produce request and takes them back when the request fails —
   * yet a failed request may have been appended (the broker died, or the connection closed,
   * after the append; or another partition of the same request failed). Within kafkajs's own
   * retries the same batch is sent again under the same numbers, which the broker recognises
   * as a duplicate: correct. But once the send has failed, the next call's records reuse
   * those numbers: the broker answers "duplicate" with the old batch's offset — a success —
   * when the counts match, so records acknowledged to the caller were never written
   * (libs/kafka/src/producer.int.spec.ts reproduces it; three-nodes.int.spec.ts lost 14 so),
   * or OUT_OF_ORDER_SEQUENCE_NUMBER when they do not. A new producer gets a new producer id
   * from the broker (InitProducerId), whose sequences start afresh.
   */
  private async renew(): Promise<void> {
    const old = this.producer;
    this.producer = this.create();
    this.renewed++;
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
    this.stale = false;
  }

  async connect(): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
  }

  /**
   * Resolves once every message is acknowledged by all in-sync replicas.
   *
   * Calls that arrive while a produce is in flight are sent together as the next one (a
   * stage handling six partitions at once calls six times per fetch): kafkajs's idempotent
   * producer has one request in flight per broker anyway, so they would have waited for it,
   * and one request costs the broker and the caller less than six. A call alone goes at once.
   * When a group fails, every caller in it is told — except for errors about the records
   * themselves (too large, corrupt), where each caller's records are sent again on their
   * own so that one caller's bad record does not fail the others.
   */
  sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    if (topicMessages.every((t) => t.messages.length === 0)) return Promise.resolve();
    return this.calls.call(topicMessages);
  }

  /** One produce of a group; a failure leaves the producer stale (see renew()). */
  private async sendAll(topicMessages: TopicMessages[]): Promise<void> {
    if (this.stale) await this.renew();
    try {
      await this.sendRounds(topicMessages);
    } catch (error) {
      this.stale = true;
      throw error;
    }
  }

  /**
   * Why the check after kafkajs's own sendBatch: kafkajs 2.2.4 sends one request per leader
   * broker and, when one fails (its broker died), retries only the brokers that have not
   * answered — with leaders looked up again. Partitions whose leadership moved to a broker
   * that had already answered are then never sent, yet the call resolves: acknowledged
   * records silently missing (found by libs/kafka/src/three-nodes.int.spec.ts, a broker
   * SIGKILLed under load). So every partition a message went to must be in the answer;
   * messages of a missing partition are sent again — as the same batch under the same
   * sequence numbers (kafkajs took them back; the partitioner keeps each message where it
   * went), so a copy that did reach a log before its broker died is recognised, not doubled.
   */
  private async sendRounds(topicMessages: TopicMessages[]): Promise<void> {
    let pending = topicMessages.filter((t) => t.messages.length > 0);
    for (let round = 1; pending.length > 0; round++) {
      const answered = await this.producer.sendBatch({ topicMessages: pending, acks: -1, compression: CompressionTypes.None });
      const acked = new Map<string, Set<number>>();
      // Acknowledged partitions by topic: one lookup per message, no key string built for each.
      for (const r of answered) acked.set(r.topicName, (acked.get(r.topicName) ?? new Set<number>()).add(r.partition));
      pending = pending
        .map((t) => {
          const partitions = acked.get(t.topic);
          return { topic: t.topic, messages: t.messages.filter((m) => !partitions?.has(this.partitionOf.get(m)!)) };
        })
        .filter((t) => t.messages.length > 0);
      if (pending.length > 0 && round >= MAX_SEND_ROUNDS) {
        throw new Error(`kafkajs acknowledged ${answered.length} partitions but not those of ${pending.reduce((n, t) => n + t.messages.length, 0)} messages`);
      }
    }
  }

  async disconnect(): Promise<void> {
    if (this.connected) {
      this.connected = false;
      await this.producer.disconnect();
    }
  }
}

/** The calls' messages, one entry per topic, in call order. */
function mergeTopics(calls: readonly TopicMessages[][]): TopicMessages[] {
  const batch = new TopicBatch();
  for (const call of calls) for (const { topic, messages } of call) for (const m of messages) batch.add(topic, m);
  return batch.topicMessages();
}

export class ProduceError extends Error {
  constructor(
    readonly code: 'PRODUCE_TIMEOUT' | 'PRODUCER_QUEUE_FULL',
    message: string,
  ) {
    super(message);
    this.name = 'ProduceError';
  }
}

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface LingeringProducerOptions {
  /**
   * How long sends are held to be handed on together (linger.ms); 0 hands each on at once.
   * Either way DurableProducer groups what arrives while a produce is in flight.
   */
  lingerMs: number;
  /** Records handed on together at most (a full group does not wait for the linger). Default 1000. */
  maxBatch?: number;
  /**
   * Records queued or awaiting their acknowledgement at most; a send beyond it is refused
   * at once (PRODUCER_QUEUE_FULL) instead of growing memory while Kafka is slow or away.
   * Default 10000.
   */
  maxPending?: number;
  /**
   * A send not acknowledged within this is answered PRODUCE_TIMEOUT (the caller answers
   * 503: not known to be durable). The produce itself cannot be recalled and may still
   * land: callers dedupe on event_id / Idempotency-Key. Default 10000 ms.
   */
  sendTimeoutMs?: number;
}

/**
 * The gateway's producer: what `linger.ms`, `buffer.memory` and `delivery.timeout.ms` are to
 * the Java client, on top of DurableProducer. A send goes at once by default (`lingerMs` 0):
 * DurableProducer sends it now when no produce is in flight, and otherwise with every send
 * that arrives meanwhile, as one request — they would wait for that request anyway (the
 * idempotent producer has one in flight per broker), so a fixed linger only added its delay
 * at idle (2 ms of a ~4 ms produce) without grouping more under load. Each caller's promise
 * settles only when its records are acknowledged by all in-sync replicas — or refused: the
 * number of records waiting is bounded and so is the time a caller waits (kafkajs's own
 * request timeout and retries can take minutes against a frozen broker).
 */
export class LingeringProducer {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  /** Records queued or sent and not yet settled by Kafka (timed-out callers included). */
  private pending = 0;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly sendTimeoutMs: number;

  constructor(
    private readonly producer: DurableProducer,
    o: LingeringProducerOptions,
  ) {
    this.lingerMs = o.lingerMs;
    this.maxBatch = o.maxBatch ?? 1000;
    this.maxPending = o.maxPending ?? 10000;
    this.sendTimeoutMs = o.sendTimeoutMs ?? 10000;
  }

  /** Records queued or awaiting Kafka's acknowledgement now. */
  get pendingCount(): number {
    return this.pending;
  }

  send(topic: string, message: Message): Promise<void> {
    if (this.pending >= this.maxPending) {
      return Promise.reject(new ProduceError('PRODUCER_QUEUE_FULL', `${this.pending} records already wait for Kafka (limit ${this.maxPending})`));
    }
    this.pending++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new ProduceError('PRODUCE_TIMEOUT', `Kafka did not acknowledge within ${this.sendTimeoutMs} ms`));
      }, this.sendTimeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        if (!settled) fn();
      };
      this.queue.push({
        topic,
        message,
        resolve: () => settle(resolve),
        reject: (e) => settle(() => reject(e instanceof Error ? e : new Error(String(e)))),
      });
      if (this.queue.length >= this.maxBatch || this.lingerMs === 0) {
        // Handed on at once: DurableProducer sends it now or, while a produce is in flight,
        // with everything else that arrives meanwhile.
        this.flush();
      } else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.lingerMs);
      }
    });
  }

  /** Sends what is queued now; resolves when every group sent so far is settled. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const group = this.queue;
    this.queue = [];
    const batch = new TopicBatch();
    for (const p of group) batch.add(p.topic, p.message);
    // Counted until Kafka settles the group, not until callers gave up: the bound is on what
    // the broker still owes, which is what grows when it is slow.
    const settled = () => {
      this.pending -= group.length;
      this.inFlight.delete(sending);
    };
    const sending: Promise<void> = batch.send(this.producer).then(
      () => {
        settled();
        group.forEach((p) => p.resolve());
      },
      (error: unknown) => {
        settled();
        group.forEach((p) => p.reject(error));
      },
    );
    this.inFlight.add(sending);
  }
}
