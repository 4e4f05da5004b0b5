import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { createLogger } from '@relay/observability';
import { createKafka } from './client';
import { DurableProducer } from './producer';

/**
 * A send that fails after the broker appended its records — the answers lost, as when a
 * broker dies after the append or a connection drops — must not make the producer's next
 * records vanish. kafkajs takes a failed request's sequence numbers back, so the next batch
 * of the same size reuses them and the broker takes it for a duplicate of the appended one:
 * it answers success without writing it. Reproduced here on the run's real broker by a
 * socket that closes instead of delivering the answer of any Produce request while armed.
 */
describe('DurableProducer after a send whose records were appended but never acknowledged', () => {
  const brokers = (process.env.RELAY_KAFKA_BROKERS ?? '').split(',');
  const lossy = { dropProduceAnswers: false, dropped: 0 };

  /** kafkajs's own socket, except that while armed the answer to a Produce request closes it. */
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    let awaitingProduceAnswer = false;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = (chunk: unknown, ...rest: unknown[]) => {
      // A request is [size int32][api key int16]…; Produce is api key 0.
      if (lossy.dropProduceAnswers && Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === 0) awaitingProduceAnswer = true;
      return write(chunk, ...rest);
    };
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data' && awaitingProduceAnswer) {
        // As when the broker dies after the append: the answer never comes, the connection ends.
        lossy.dropped++;
        awaitingProduceAnswer = false;
        emit('end');
        socket.destroy();
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
    socket.setKeepAlive(true, 60000);
    return socket;
  };

  it('starts over under a new producer id, so the next records are written, not taken for duplicates', async () => {
    const topic = `relay-it-producer-${randomBytes(4).toString('hex')}`;
    const reader = createKafka({ brokers, clientId: 'producer-it-reader', logger: createLogger('producer-it', 'silent') });
    const admin = reader.admin();
    await admin.connect();
    const kafka = new Kafka({ brokers, clientId: 'producer-it', socketFactory, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
    const producer = new DurableProducer(kafka);
    const consumer = reader.consumer({ groupId: `${topic}-reader` });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await producer.connect();
      const batch = (name: string) => Array.from({ length: 10 }, (_, i) => ({ key: 'one-partition', value: `${name}-${i}` }));

      await producer.sendBatch([{ topic, messages: batch('a') }]);
      lossy.dropProduceAnswers = true;
      await expect(producer.sendBatch([{ topic, messages: batch('b') }])).rejects.toThrow();
      lossy.dropProduceAnswers = false;
      expect(lossy.dropped).toBeGreaterThan(0);
      await producer.sendBatch([{ topic, messages: batch('c') }]); // same size as b
      expect(producer.renewals).toBe(1);

      // Read the whole log back, up to its end as the broker reports it now.
      const [end] = await admin.fetchTopicOffsets(topic);
      const last = Number(end?.high ?? 0) - 1;
      const values: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              values.push(message.value?.toString() ?? '');
              if (Number(message.offset) >= last) resolve();
            },
          })
          .catch(reject);
      });
      // a and c were acknowledged: both in the log. b was refused, yet appended (its answers were
      // lost, not its records) — which is what made c look like a duplicate.
      expect(values.filter((v) => v.startsWith('a-'))).toEqual(batch('a').map((m) => m.value));
      expect(values.filter((v) => v.startsWith('c-'))).toEqual(batch('c').map((m) => m.value));
      expect(values.filter((v) => v.startsWith('b-'))).toEqual(batch('b').map((m) => m.value));
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 60000);
});
