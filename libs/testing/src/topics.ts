import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { waitForTopicLeaders } from '@relay/kafka';

export { waitForTopicLeaders };

/**
 * A topic name no other spec (nor an earlier run against the same broker) uses:
 * `<prefix>-<time base36>-<random hex>`, restricted to the characters Kafka allows.
 */
export function freshTopicName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 150) || 'topic';
  return `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A consumer group id unique to this call, so groups never share committed offsets. */
export function uniqueGroupId(prefix = 'test-group'): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Creates a topic (the broker has auto-create off) and waits until every partition has a
 * leader, so the first produce or subscribe does not race the metadata.
 */
export async function createTestTopic(brokers: string[], name: string, partitions = 1): Promise<void> {
  // Logging off: failures surface as exceptions; kafkajs would also log expected retries.
  const kafka = new Kafka({ clientId: 'relay-testing-admin', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: false,
    });
    if (!created) throw new Error(`topic ${name} already exists: use freshTopicName() for test topics`);
    await waitForTopicLeaders(admin, name, partitions);
  } finally {
    await admin.disconnect();
  }
}
