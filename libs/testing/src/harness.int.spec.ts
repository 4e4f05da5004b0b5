import { Kafka, logLevel } from 'kafkajs';
import { createTestTopic, freshTopicName } from './topics';

describe('integration harness (global setup)', () => {
  it('publishes the shared infrastructure through the environment', async () => {
    const brokers = process.env.RELAY_KAFKA_BROKERS?.split(',') ?? [];
    expect(brokers.length).toBeGreaterThan(0);
    expect(process.env.RELAY_REGISTRY_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
    expect(process.env.RELAY_PG_URL).toMatch(/^postgres(ql)?:\/\//);
    const res = await fetch(`${process.env.RELAY_REGISTRY_URL}/subjects`);
    expect(res.status).toBe(200);
  });

  it('creates test topics with the requested partitions, and refuses duplicates', async () => {
    const brokers = (process.env.RELAY_KAFKA_BROKERS ?? '').split(',');
    const topic = freshTopicName('harness');
    await createTestTopic(brokers, topic, 3);
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(topics[0]?.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
    await expect(createTestTopic(brokers, topic, 3)).rejects.toThrow(/already exists/);
  });
});
