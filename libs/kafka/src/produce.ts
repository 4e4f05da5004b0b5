import type { Message, TopicMessages } from 'kafkajs';
import type { ContractRegistry } from '@relay/contracts';
import type { OutputRecord } from './outcome';
import type { DurableProducer } from './producer';

/** Encoded messages grouped by topic name, sent to Kafka as one batch. */
export class TopicBatch {
  private readonly byTopic = new Map<string, Message[]>();

  add(topic: string, message: Message): void {
    const list = this.byTopic.get(topic);
    if (list) list.push(message);
    else this.byTopic.set(topic, [message]);
  }

  /** The messages, one entry per topic, in the order they were added. */
  topicMessages(): TopicMessages[] {
    return [...this.byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  /**
   * Resolves once every message is acknowledged (see DurableProducer.sendBatch); then
   * `onSent` is told how many messages went to each topic (for the `produced` counter).
   */
  async send(producer: Pick<DurableProducer, 'sendBatch'>, onSent?: (topic: string, count: number) => void): Promise<void> {
    await producer.sendBatch(this.topicMessages());
    if (onSent) for (const [topic, messages] of this.byTopic) onSent(topic, messages.length);
  }
}

/**
 * Encodes each record with its topic's contract and sends them all as one durable batch:
 * what a stage, the dispatcher and the scheduler write. A record its contract refuses
 * fails the whole call before anything is sent.
 */
export async function produceRecords(
  registry: Pick<ContractRegistry, 'encode' | 'topic'>,
  producer: Pick<DurableProducer, 'sendBatch'>,
  records: readonly OutputRecord[],
  onSent?: (topic: string, count: number) => void,
): Promise<void> {
  const batch = new TopicBatch();
  for (const r of records) {
    batch.add(registry.topic(r.topic), { key: r.key, value: await registry.encode(r.topic, r.value), ...(r.headers ? { headers: r.headers } : {}) });
  }
  await batch.send(producer, onSent);
}
