import type { Kafka, Message, ProducerConfig, TopicMessages } from 'kafkajs';
import { DurableProducer, LingeringProducer, ProduceError } from './producer';

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

/** A DurableProducer whose produce requests stay open until the test settles them. */
function heldProducer() {
  const open: { messages: TopicMessages[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const producer = {
    sendBatch: (messages: TopicMessages[]) => new Promise<void>((resolve, reject) => open.push({ messages, resolve, reject })),
  } as unknown as DurableProducer;
  return { producer, open };
}

describe('LingeringProducer bounds', () => {
  it('answers PRODUCE_TIMEOUT when Kafka does not acknowledge in time, and still counts the record until Kafka settles it', async () => {
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 0, sendTimeoutMs: 30 });
    await expect(lingering.send('t', { value: 'a' })).rejects.toMatchObject({ code: 'PRODUCE_TIMEOUT' });
    expect(lingering.pendingCount).toBe(1);
    open[0]?.resolve();
    await lingering.drain();
    expect(lingering.pendingCount).toBe(0);
  });

  it('refuses sends beyond maxPending at once (PRODUCER_QUEUE_FULL) and accepts again once Kafka caught up', async () => {
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 0, maxPending: 2, sendTimeoutMs: 60000 });
    const first = lingering.send('t', { value: 'a' });
    const second = lingering.send('t', { value: 'b' });
    const refused = await lingering.send('t', { value: 'c' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProduceError);
    expect((refused as ProduceError).code).toBe('PRODUCER_QUEUE_FULL');
    for (const o of open) o.resolve();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    const third = lingering.send('t', { value: 'd' });
    open[2]?.resolve();
    await expect(third).resolves.toBeUndefined();
  });

  it('passes a failed produce on to every caller of its group', async () => {
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 5, sendTimeoutMs: 60000 });
    const sends = [lingering.send('t', { value: 'a' }), lingering.send('u', { value: 'b' })];
    const drained = lingering.drain(); // flushes the group now: one produce request
    expect(open).toHaveLength(1);
    open[0]?.reject(new Error('broker gone'));
    for (const s of sends) await expect(s).rejects.toThrow('broker gone');
    await drained;
    expect(lingering.pendingCount).toBe(0);
  });
});
