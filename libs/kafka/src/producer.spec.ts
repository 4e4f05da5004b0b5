import type { Kafka, Message, ProducerConfig, TopicMessages } from 'kafkajs';
import { DurableProducer } from './producer';

/**
 * kafkajs's producer as far as DurableProducer uses it: partitions messages with the
 * configured partitioner, then answers with the partitions `answer` lets through — like
 * kafkajs 2.2.4 after a leader moved during a retry, when it resolves without sending some.
 */
function fakeKafka(answer: (call: number, partitions: number[]) => number[]) {
  const calls: { topic: string; partition: number; message: Message }[][] = [];
  const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  const kafka = {
    producer: (config: ProducerConfig) => {
      const partitioner = config.createPartitioner?.();
      return {
        sendBatch: async ({ topicMessages }: { topicMessages: TopicMessages[] }) => {
          const sent = topicMessages.flatMap(({ topic, messages }) =>
            messages.map((message) => ({ topic, message, partition: partitioner?.({ topic, partitionMetadata, message }) as number })),
          );
          calls.push(sent);
          const partitions = [...new Set(sent.map((s) => s.partition))];
          return answer(calls.length, partitions).map((partition) => ({ topicName: 't', partition, errorCode: 0 }));
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, calls };
}

const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));

describe('DurableProducer.sendBatch', () => {
  it('sends again the messages of a partition kafkajs left out of its answer, and only those', async () => {
    let skipped = -1;
    const { kafka, calls } = fakeKafka((call, partitions) => {
      if (call > 1) return partitions;
      skipped = partitions[0] as number;
      return partitions.slice(1);
    });
    await new DurableProducer(kafka).sendBatch([{ topic: 't', messages }]);
    expect(calls).toHaveLength(2);
    const resent = calls[1] ?? [];
    expect(resent.length).toBeGreaterThan(0);
    expect(resent.every((s) => s.partition === skipped)).toBe(true);
    expect(resent.map((s) => s.message)).toEqual((calls[0] ?? []).filter((s) => s.partition === skipped).map((s) => s.message));
  });

  it('fails rather than resolve when a partition is never acknowledged', async () => {
    const { kafka, calls } = fakeKafka((_, partitions) => partitions.slice(1));
    await expect(new DurableProducer(kafka).sendBatch([{ topic: 't', messages }])).rejects.toThrow(/not those of \d+ messages/);
    expect(calls).toHaveLength(4);
  });

  it('is one call when everything is acknowledged', async () => {
    const { kafka, calls } = fakeKafka((_, partitions) => partitions);
    await new DurableProducer(kafka).sendBatch([{ topic: 't', messages }]);
    expect(calls).toHaveLength(1);
  });
});
