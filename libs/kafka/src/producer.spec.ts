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

/** kafkajs's producer whose requests stay open until the test answers them (all partitions acknowledged) or fails them. */
function heldKafka() {
  const requests: { messages: Message[]; answer: () => void; fail: (e: unknown) => void }[] = [];
  const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  const lifecycle = { created: 0, connected: 0, disconnected: 0 };
  const kafka = {
    producer: (config: ProducerConfig) => {
      const partitioner = config.createPartitioner?.();
      lifecycle.created++;
      return {
        connect: async () => void lifecycle.connected++,
        disconnect: async () => void lifecycle.disconnected++,
        sendBatch: ({ topicMessages }: { topicMessages: TopicMessages[] }) =>
          new Promise((resolve, reject) => {
            const sent = topicMessages.flatMap(({ topic, messages: ms }) =>
              ms.map((message) => ({ topic, message, partition: partitioner?.({ topic, partitionMetadata, message }) as number })),
            );
            requests.push({
              messages: sent.map((x) => x.message),
              answer: () =>
                resolve(
                  [...new Set(sent.map((x) => `${x.topic}|${x.partition}`))].map((k) => ({
                    topicName: k.split('|')[0],
                    partition: Number(k.split('|')[1]),
                    errorCode: 0,
                  })),
                ),
              fail: reject,
            });
          }),
      };
    },
  } as unknown as Kafka;
  return { kafka, requests, lifecycle };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DurableProducer grouping of concurrent calls', () => {
  it('sends a call alone at once, and the calls that arrive meanwhile as one request when it is answered', async () => {
    const { kafka, requests } = heldKafka();
    const producer = new DurableProducer(kafka);
    const settled: string[] = [];
    const first = producer.sendBatch([{ topic: 'a', messages: [{ key: '1', value: 'first' }] }]).then(() => settled.push('first'));
    await tick();
    expect(requests).toHaveLength(1);
    const later = ['x', 'y', 'z'].map((v) =>
      producer.sendBatch([{ topic: v === 'y' ? 'b' : 'a', messages: [{ key: v, value: v }] }]).then(() => settled.push(v)),
    );
    await tick();
    expect(requests).toHaveLength(1); // waiting for the request in flight
    requests[0]!.answer();
    await first;
    await tick();
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.map((m) => m.value)).toEqual(['x', 'z', 'y']); // one request, grouped by topic
    expect(settled).toEqual(['first']); // nobody in the group hears back before its request is answered
    requests[1]!.answer();
    await Promise.all(later);
    expect(settled.sort()).toEqual(['first', 'x', 'y', 'z']);
  });

  it('fails every caller of a group on a broker error', async () => {
    const { kafka, requests } = heldKafka();
    const producer = new DurableProducer(kafka);
    const first = producer.sendBatch([{ topic: 'a', messages: [{ value: '0' }] }]);
    await tick();
    const group = [producer.sendBatch([{ topic: 'a', messages: [{ value: '1' }] }]), producer.sendBatch([{ topic: 'a', messages: [{ value: '2' }] }])];
    requests[0]!.answer();
    await first;
    await tick();
    requests[1]!.fail(Object.assign(new Error('Connection closed'), { type: 'NETWORK_EXCEPTION' }));
    await expect(group[0]).rejects.toThrow(/Connection closed/);
    await expect(group[1]).rejects.toThrow(/Connection closed/);
    expect(requests).toHaveLength(2); // not sent again one by one
  });

  it('on an error about the records, answers each caller of the group on its own send', async () => {
    const { kafka, requests } = heldKafka();
    const producer = new DurableProducer(kafka);
    const first = producer.sendBatch([{ topic: 'a', messages: [{ value: '0' }] }]);
    await tick();
    const good = producer.sendBatch([{ topic: 'a', messages: [{ value: 'good' }] }]);
    const bad = producer.sendBatch([{ topic: 'a', messages: [{ value: 'too large' }] }]);
    requests[0]!.answer();
    await first;
    await tick();
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
      type: 'MESSAGE_TOO_LARGE',
    });
    requests[1]!.fail(new Error('wrapped', { cause: tooLarge }));
    await tick();
    expect(requests[2]!.messages.map((m) => m.value)).toEqual(['good']);
    requests[2]!.answer();
    await good;
    await tick();
    expect(requests[3]!.messages.map((m) => m.value)).toEqual(['too large']);
    requests[3]!.fail(tooLarge);
    await expect(bad).rejects.toThrow(/larger than the max message size/);
  });
});

describe('DurableProducer after a failed send', () => {
  it('sends the next call from a new kafkajs producer (a new producer id), and keeps it while sends succeed', async () => {
    const { kafka, requests, lifecycle } = heldKafka();
    const producer = new DurableProducer(kafka);
    await producer.connect();
    const first = producer.sendBatch([{ topic: 'a', messages: [{ key: 'k', value: '1' }] }]);
    await tick();
    requests[0]!.fail(Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' }));
    await expect(first).rejects.toThrow(/Closed connection/);
    expect(lifecycle).toEqual({ created: 1, connected: 1, disconnected: 0 }); // nothing to renew until a send needs it

    const second = producer.sendBatch([{ topic: 'a', messages: [{ key: 'k', value: '2' }] }]);
    await tick();
    expect(lifecycle).toEqual({ created: 2, connected: 2, disconnected: 1 });
    requests[1]!.answer();
    await second;
    const third = producer.sendBatch([{ topic: 'a', messages: [{ key: 'k', value: '3' }] }]);
    await tick();
    requests[2]!.answer();
    await third;
    expect(lifecycle.created).toBe(2);
    expect(producer.renewals).toBe(1);
  });

  it('fails the call, and renews again on the next, when the new producer cannot connect', async () => {
    let refuse = true;
    let created = 0;
    const partitionMetadata = [{ partitionId: 0, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }];
    const kafka = {
      producer: (config: ProducerConfig) => {
        const id = ++created;
        const partitioner = config.createPartitioner?.();
        return {
          connect: async () => {
            if (id > 1 && refuse) throw new Error('broker unreachable');
          },
          disconnect: async () => undefined,
          sendBatch: async ({ topicMessages }: { topicMessages: TopicMessages[] }) => {
            if (id === 1) throw new Error('Closed connection');
            return topicMessages.flatMap(({ topic, messages: ms }) =>
              ms.map((message) => ({ topicName: topic, partition: partitioner?.({ topic, partitionMetadata, message }), errorCode: 0 })),
            );
          },
        };
      },
    } as unknown as Kafka;
    const producer = new DurableProducer(kafka);
    await producer.connect();
    const send = () => producer.sendBatch([{ topic: 'a', messages: [{ value: 'x' }] }]);
    await expect(send()).rejects.toThrow(/Closed connection/);
    await expect(send()).rejects.toThrow(/broker unreachable/);
    refuse = false;
    await expect(send()).resolves.toBeUndefined();
    expect(producer.renewals).toBe(2);
  });

  it('partitions a message again where it went before, even without a key (a retry resends the same batches)', () => {
    let partitioner: ((args: unknown) => number) | undefined;
    const kafka = {
      producer: (config: ProducerConfig) => {
        partitioner = config.createPartitioner?.() as unknown as (args: unknown) => number;
        return {};
      },
    } as unknown as Kafka;
    new DurableProducer(kafka);
    const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    const keyless = Array.from({ length: 12 }, (_, i) => ({ value: `v${i}` }));
    const first = keyless.map((message) => partitioner!({ topic: 't', partitionMetadata, message }));
    const again = keyless.map((message) => partitioner!({ topic: 't', partitionMetadata, message }));
    expect(new Set(first).size).toBeGreaterThan(1); // round-robin spreads keyless messages
    expect(again).toEqual(first);
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
    expect(open).toHaveLength(2); // both handed on at once; DurableProducer groups them
    open[0]?.resolve();
    await first;
    expect(lingering.pendingCount).toBe(1);
    open[1]?.resolve();
    await expect(second).resolves.toBeUndefined();
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

describe('LingeringProducer grouping', () => {
  it('on a DurableProducer: sends at once when nothing is in flight, and what arrives meanwhile as one request', async () => {
    const { kafka, requests } = heldKafka();
    const lingering = new LingeringProducer(new DurableProducer(kafka), { lingerMs: 0, sendTimeoutMs: 60000 });
    const first = lingering.send('t', { key: 'a', value: 'a' });
    await tick();
    expect(requests).toHaveLength(1); // no linger at idle
    const later = [lingering.send('t', { key: 'b', value: 'b' }), lingering.send('t', { key: 'c', value: 'c' }), lingering.send('u', { key: 'd', value: 'd' })];
    await tick();
    expect(requests).toHaveLength(1); // waiting for the request in flight
    requests[0]!.answer();
    await first;
    await tick();
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.map((m) => m.value)).toEqual(['b', 'c', 'd']);
    requests[1]!.answer();
    await expect(Promise.all(later)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('with a linger, an idle producer waits that long to group sends', async () => {
    jest.useFakeTimers();
    try {
      const { producer, open } = heldProducer();
      const lingering = new LingeringProducer(producer, { lingerMs: 5, sendTimeoutMs: 60000 });
      const sends = [lingering.send('t', { value: 'a' }), lingering.send('t', { value: 'b' })];
      expect(open).toHaveLength(0);
      jest.advanceTimersByTime(5);
      expect(open).toHaveLength(1);
      expect(open[0]?.messages).toEqual([{ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] }]);
      open[0]?.resolve();
      await Promise.all(sends);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('DurableProducer lifecycle', () => {
  it('connects once, disconnects only a connected producer, and sends nothing for an empty batch', async () => {
    const lifecycle = { connect: 0, disconnect: 0, send: 0 };
    const kafka = {
      producer: () => ({
        connect: async () => void lifecycle.connect++,
        disconnect: async () => void lifecycle.disconnect++,
        sendBatch: async () => {
          lifecycle.send++;
          return [];
        },
      }),
    } as unknown as Kafka;
    const producer = new DurableProducer(kafka);
    await producer.disconnect();
    await producer.connect();
    await producer.connect();
    await producer.sendBatch([]);
    await producer.sendBatch([{ topic: 't', messages: [] }]);
    await producer.disconnect();
    await producer.disconnect();
    expect(lifecycle).toEqual({ connect: 1, disconnect: 1, send: 0 });
  });
});

/**
 * Whether `promise` has settled. Nothing but the spec's own ack can settle these promises,
 * so there is no race to wait out: one macrotask turn lets every chained microtask run,
 * and a promise still pending then stays pending until the spec acknowledges.
 */
async function state(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const pending = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<symbol>((r) => setImmediate(() => r(pending))),
  ]);
  return result === pending ? 'pending' : (result as 'resolved' | 'rejected');
}

describe('LingeringProducer grouping', () => {
  afterEach(() => jest.useRealTimers());

  it('groups the sends of one linger window into one request, by topic', async () => {
    jest.useFakeTimers();
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 5, sendTimeoutMs: 60000 });
    const sends = [lingering.send('a', { value: '1' }), lingering.send('b', { value: '2' }), lingering.send('a', { value: '3' })];
    expect(open).toHaveLength(0);
    jest.advanceTimersByTime(5);
    expect(open).toHaveLength(1);
    expect((open[0]?.messages ?? []).map((t) => [t.topic, t.messages.map((m) => m.value)])).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
    open[0]?.resolve();
    await expect(Promise.all(sends)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('settles no caller before the whole group is acknowledged', async () => {
    const { producer, open } = heldProducer();
    const send = new LingeringProducer(producer, { lingerMs: 0, sendTimeoutMs: 60000 }).send('a', { value: '1' });
    expect(await state(send)).toBe('pending');
    open[0]?.resolve();
    expect(await state(send)).toBe('resolved');
  });

  it('sends at once when the group reaches maxBatch, without waiting for the linger', async () => {
    jest.useFakeTimers();
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 1000, maxBatch: 2, sendTimeoutMs: 60000 });
    const sends = [lingering.send('a', { value: '1' })];
    expect(open).toHaveLength(0);
    sends.push(lingering.send('a', { value: '2' }));
    expect(open).toHaveLength(1);
    expect(open[0]?.messages[0]?.messages).toHaveLength(2);
    open[0]?.resolve();
    await expect(Promise.all(sends)).resolves.toEqual([undefined, undefined]);
  });

  it('drain sends what is queued and waits for every group in flight', async () => {
    const { producer, open } = heldProducer();
    const lingering = new LingeringProducer(producer, { lingerMs: 60_000, sendTimeoutMs: 60000 });
    const send = lingering.send('a', { value: '1' });
    const drained = lingering.drain();
    expect(open).toHaveLength(1);
    expect(await state(drained)).toBe('pending');
    open[0]?.resolve();
    await drained;
    await expect(send).resolves.toBeUndefined();
  });
});
