import type { Admin } from 'kafkajs';
import { TOPICS, topicName, type TopicKey } from '@relay/contracts';

export interface TopicProvisionResult {
  created: string[];
  existing: string[];
}

export interface Replication {
  factor: number;
  minInsyncReplicas: number;
}

/**
 * Replication for a cluster of `brokers` nodes: 3 replicas with min.insync.replicas 2 from
 * three brokers on (an acks=all write then survives the loss of any one broker, and one
 * broker may be down without refusing writes), else one replica per broker, min ISR 1.
 */
export function replicationFor(brokers: number): Replication {
  const factor = Math.max(1, Math.min(3, brokers));
  return { factor, minInsyncReplicas: factor >= 3 ? 2 : 1 };
}

/**
 * Creates the project's topics with explicit partitions and configs (the broker runs
 * with auto-creation off, so a typo in a topic name fails loudly instead of silently
 * creating a one-partition topic). Existing topics with fewer partitions than declared
 * are grown; a topic is never shrunk or recreated, and its replication is left as it is.
 * New topics get `replication`, by default replicationFor(the brokers the cluster lists).
 */
export async function ensureTopics(
  admin: Admin,
  prefix: string,
  keys: readonly TopicKey[] = Object.keys(TOPICS) as TopicKey[],
  replication?: Replication,
): Promise<TopicProvisionResult> {
  const existing = new Set(await admin.listTopics());
  const wanted = keys.map((k) => ({ key: k, name: topicName(prefix, k) }));
  const missing = wanted.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    const { factor, minInsyncReplicas } = replication ?? replicationFor((await admin.describeCluster()).brokers.length);
    // Several services may provision at boot at the same moment; losing that race is fine.
    await admin
      .createTopics({
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: TOPICS[t.key].partitions,
          replicationFactor: factor,
          configEntries: [
            ...Object.entries(TOPICS[t.key].config).map(([name, value]) => ({ name, value })),
            { name: 'min.insync.replicas', value: String(minInsyncReplicas) },
          ],
        })),
      })
      .catch((error: unknown) => {
        const nested = error as { errors?: { type?: string }[]; type?: string };
        const all = nested.errors ?? [nested];
        if (!all.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) throw error;
      });
    for (const t of missing) await waitForTopicLeaders(admin, t.name, TOPICS[t.key].partitions);
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
export async function prepareWire(kafka: import('kafkajs').Kafka, registry: import('@relay/contracts').ContractRegistry, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, prefix);
  } finally {
    await admin.disconnect();
  }
  await registry.registerAll();
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
