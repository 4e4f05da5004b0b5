import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';

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

const TRANSIENT_AFTER_CREATE = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Polls metadata until the topic has `partitions` partitions, each with a leader.
 *
 * Why not kafkajs's `createTopics({ waitForLeaders: true })`: it only tolerates
 * LEADER_NOT_AVAILABLE while polling, but a KRaft broker (all of Kafka 4.x) can answer
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after CreateTopics returned, because its metadata
 * image trails the controller; kafkajs then fails the whole call.
 */
export async function waitForTopicLeaders(admin: Admin, topic: string, partitions: number, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = topics[0]?.partitions ?? [];
      if (found.length === partitions && found.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (!TRANSIENT_AFTER_CREATE.has((error as { type?: string }).type ?? '')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic}: ${partitions} partition leaders not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
