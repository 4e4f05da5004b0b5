import type { Admin } from 'kafkajs';
import { TOPICS, topicName, type TopicKey } from '@relay/contracts';

export interface TopicProvisionResult {
  created: string[];
  existing: string[];
}

/**
 * Creates the project's topics with explicit partitions and configs (the broker runs
 * with auto-creation off, so a typo in a topic name fails loudly instead of silently
 * creating a one-partition topic). Existing topics with fewer partitions than declared
 * are grown; a topic is never shrunk or recreated.
 */
export async function ensureTopics(
  admin: Admin,
  prefix: string,
  keys: readonly TopicKey[] = Object.keys(TOPICS) as TopicKey[],
  replicationFactor = 1,
): Promise<TopicProvisionResult> {
  const existing = new Set(await admin.listTopics());
  const wanted = keys.map((k) => ({ key: k, name: topicName(prefix, k) }));
  const missing = wanted.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    // Several services may provision at boot at the same moment; losing that race is fine.
    await admin
      .createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: TOPICS[t.key].partitions,
        replicationFactor,
        configEntries: Object.entries(TOPICS[t.key].config).map(([name, value]) => ({ name, value })),
      })),
    })
      .catch((error: unknown) => {
        const nested = (error as { errors?: { type?: string }[]; type?: string });
        const all = nested.errors ?? [nested];
        if (!all.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) throw error;
      });
  }
  const present = wanted.filter((t) => existing.has(t.name));
  if (present.length > 0) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    const grow = meta.topics
      .map((m): { topic: string; count: number } | null => {
        const key = present.find((t) => t.name === m.name)?.key;
        return key && m.partitions.length < TOPICS[key].partitions ? { topic: m.name, count: TOPICS[key].partitions } : null;
      })
      .filter((x): x is { topic: string; count: number } => x !== null);
    if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
  }
  return { created: missing.map((t) => t.name), existing: present.map((t) => t.name) };
}

/**
 * What every stage does at boot before touching Kafka: its topics exist with the declared
 * partitions, and the value schemas are registered (BACKWARD) so encode/decode work.
 */
export async function prepareWire(
  kafka: import('kafkajs').Kafka,
  registry: import('@relay/contracts').ContractRegistry,
  prefix: string,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, prefix);
  } finally {
    await admin.disconnect();
  }
  await registry.registerAll();
}
