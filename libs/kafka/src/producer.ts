import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';

/** Sends of the partitions kafkajs skipped (see sendBatch) before the call fails. */
const MAX_SEND_ROUNDS = 4;

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
  private readonly producer: Producer;
  private connected = false;
  /** The partition kafkajs's last attempt put each message in (see sendBatch). */
  private readonly partitionOf = new WeakMap<Message, number>();

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      // murmur2 on the key, the Java client's partitioner: records keyed by team+target land
      // on the same partition whether a Relay service or a Java producer wrote them. Wrapped
      // to remember where each message went.
      createPartitioner: () => {
        const partitioner = Partitioners.DefaultPartitioner();
        return (args) => {
          const partition = partitioner(args);
          this.partitionOf.set(args.message, partition);
          return partition;
        };
      },
      idempotent: true,
      // Bounded, unlike kafkajs's idempotent default (retry forever): a caller waiting for a
      // 2xx must get an answer. When the retries run out the send fails and nothing is
      // acknowledged; a later send of the same record is a new sequence, which downstream
      // stages absorb (every record carries a stable event_id they deduplicate on).
      retry: { retries: 5, initialRetryTime: 100 },
    });
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
   * Why the check after kafkajs's own sendBatch: kafkajs 2.2.4 sends one request per leader
   * broker and, when one fails (its broker died), retries only the brokers that have not
   * answered — with leaders looked up again. Partitions whose leadership moved to a broker
   * that had already answered are then never sent, yet the call resolves: acknowledged
   * records silently missing (found by libs/kafka/src/three-nodes.int.spec.ts, a broker
   * SIGKILLed under load). So every partition a message went to must be in the answer;
   * messages of a missing partition are sent again (they never reached a log: the idempotent
   * producer rolled their sequence numbers back, so even a late copy is deduplicated).
   */
  async sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    let pending = topicMessages.filter((t) => t.messages.length > 0);
    for (let round = 1; pending.length > 0; round++) {
      const answered = await this.producer.sendBatch({ topicMessages: pending, acks: -1, compression: CompressionTypes.None });
      const acked = new Set(answered.map((r) => `${r.topicName}\u0000${r.partition}`));
      pending = pending
        .map((t) => ({ topic: t.topic, messages: t.messages.filter((m) => !acked.has(`${t.topic}\u0000${this.partitionOf.get(m)}`)) }))
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

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Groups concurrent sends into one produce request, the role of `linger.ms` in the Java
 * client (kafkajs sends one request per call and has no linger of its own). Each caller's
 * promise settles only when the whole group is acknowledged by all in-sync replicas.
 */
export class LingeringProducer {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly producer: DurableProducer,
    private readonly lingerMs: number,
    private readonly maxBatch = 1000,
  ) {}

  send(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (this.queue.length >= this.maxBatch || this.lingerMs === 0) {
        this.flush();
      } else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.lingerMs);
      }
    });
  }

  /** Sends what is queued now; resolves when every group sent so far is settled. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const group = this.queue;
    this.queue = [];
    const byTopic = new Map<string, Message[]>();
    for (const p of group) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p.message);
      byTopic.set(p.topic, list);
    }
    const sending = this.producer
      .sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })))
      .then(
        () => group.forEach((p) => p.resolve()),
        (error: unknown) => group.forEach((p) => p.reject(error)),
      )
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }
}
