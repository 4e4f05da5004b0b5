import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';

/**
 * A producer that only reports success once every in-sync replica has the records
 * (acks = -1, i.e. acks=all). Used by every stage for its output and by the gateway
 * before it answers 2xx.
 */
export class DurableProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      // murmur2 on the key, the Java client's partitioner: records keyed by team+target land
      // on the same partition whether a Relay service or a Java producer wrote them.
      createPartitioner: Partitioners.DefaultPartitioner,
      // Retries with the same producer are safe for us: every record carries a stable
      // event_id that downstream stages deduplicate on.
      retry: { retries: 5, initialRetryTime: 100 },
    });
  }

  async connect(): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
  }

  async sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    if (topicMessages.length === 0) return;
    await this.producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
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
