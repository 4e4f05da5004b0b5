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

/**
 * Waits until every partition of a new topic is served by its leader: metadata lists
 * `partitions` partitions with leaders AND ListOffsets (answered by the leader replica itself)
 * succeeds for all of them.
 *
 * Why not kafkajs's `createTopics({ waitForLeaders: true })`: on KRaft (all of Kafka 4.x) a
 * broker's metadata runs ahead of its replica manager. Right after CreateTopics, metadata may
 * answer UNKNOWN_TOPIC_OR_PARTITION (kafkajs only tolerates LEADER_NOT_AVAILABLE there and
 * fails), and a partition already listed with a leader may still refuse a produce with
 * NOT_LEADER_OR_FOLLOWER. kafkajs retries that produce per broker, i.e. it re-sends the
 * partitions that had succeeded too: duplicates, unless the producer is idempotent.
 */
export async function waitForTopicLeaders(admin: Admin, topic: string, partitions: number, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = topics[0]?.partitions ?? [];
      if (found.length === partitions && found.every((p) => p.leader >= 0)) {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length === partitions) return;
      }
    } catch (error) {
      // Transient while the topic settles; anything lasting shows up at the deadline.
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`topic ${topic}: ${partitions} serving partition leaders not seen within ${timeoutMs} ms${why}`);
    }
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
