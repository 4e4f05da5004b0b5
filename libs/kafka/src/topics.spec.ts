import type { Admin, ITopicConfig } from 'kafkajs';
import { TOPICS, topicName } from '@relay/contracts';
import { ensureTopics, replicationFor, waitForTopicLeaders } from './topics';

describe('replicationFor', () => {
  it('gives 3 replicas and min ISR 2 from three brokers on, else one replica per broker and min ISR 1', () => {
    expect([1, 2, 3, 5].map(replicationFor)).toEqual([
      { factor: 1, minInsyncReplicas: 1 },
      { factor: 2, minInsyncReplicas: 1 },
      { factor: 3, minInsyncReplicas: 2 },
      { factor: 3, minInsyncReplicas: 2 },
    ]);
  });
});

/** A cluster of `brokers` nodes and its topics (name → partition count) behind the Admin calls ensureTopics makes. */
function fakeAdmin(initial: Record<string, number>, opts: { brokers?: number; createError?: Error; leaderless?: boolean } = {}) {
  const topics = new Map(Object.entries(initial));
  const created: ITopicConfig[] = [];
  const grown: { topic: string; count: number }[] = [];
  const admin = {
    describeCluster: async () => ({ brokers: Array.from({ length: opts.brokers ?? 1 }, (_, nodeId) => ({ nodeId, host: 'h', port: 9092 })) }),
    listTopics: async () => [...topics.keys()],
    createTopics: async ({ topics: list }: { topics: ITopicConfig[] }) => {
      for (const t of list) topics.set(t.topic, t.numPartitions ?? 1);
      created.push(...list);
      if (opts.createError) throw opts.createError;
      return true;
    },
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: topics.get(name) ?? 0 }, (_, partitionId) => ({ partitionId, leader: opts.leaderless ? -1 : 1 })),
      })),
    }),
    fetchTopicOffsets: async (name: string) => Array.from({ length: topics.get(name) ?? 0 }, (_, partition) => ({ partition, offset: '0' })),
    createPartitions: async ({ topicPartitions }: { topicPartitions: { topic: string; count: number }[] }) => {
      for (const p of topicPartitions) topics.set(p.topic, p.count);
      grown.push(...topicPartitions);
      return true;
    },
  } as unknown as Admin;
  return { admin, topics, created, grown };
}

const ingested = topicName('spec', 'ingested');
const validated = topicName('spec', 'validated');

describe('ensureTopics', () => {
  it('creates the missing topics with their declared partitions and configs, and leaves existing ones', async () => {
    const f = fakeAdmin({ [validated]: TOPICS.validated.partitions });
    const result = await ensureTopics(f.admin, 'spec', ['ingested', 'validated']);
    expect(result).toEqual({ created: [ingested], existing: [validated] });
    expect(f.created).toEqual([
      expect.objectContaining({
        topic: ingested,
        numPartitions: TOPICS.ingested.partitions,
        replicationFactor: 1,
        configEntries: [...Object.entries(TOPICS.ingested.config).map(([name, value]) => ({ name, value })), { name: 'min.insync.replicas', value: '1' }],
      }),
    ]);
    expect(f.grown).toEqual([]);
  });

  it('replicates new topics as the cluster size allows', async () => {
    const f = fakeAdmin({}, { brokers: 3 });
    await ensureTopics(f.admin, 'spec', ['ingested']);
    expect(f.created[0]).toEqual(expect.objectContaining({ replicationFactor: 3 }));
    expect(f.created[0]?.configEntries).toContainEqual({ name: 'min.insync.replicas', value: '2' });
  });

  it('provisions every topic of the map by default', async () => {
    const f = fakeAdmin({});
    const result = await ensureTopics(f.admin, 'spec');
    expect(result.created.sort()).toEqual(
      Object.keys(TOPICS)
        .map((k) => topicName('spec', k as keyof typeof TOPICS))
        .sort(),
    );
  });

  it('grows a topic with fewer partitions than declared, and never shrinks one with more', async () => {
    const f = fakeAdmin({ [ingested]: 1, [validated]: TOPICS.validated.partitions + 4 });
    await ensureTopics(f.admin, 'spec', ['ingested', 'validated']);
    expect(f.grown).toEqual([{ topic: ingested, count: TOPICS.ingested.partitions }]);
    expect(f.topics.get(validated)).toBe(TOPICS.validated.partitions + 4);
  });

  it('takes losing the creation race to another service as success', async () => {
    const f = fakeAdmin({}, { createError: Object.assign(new Error('Topic with this name already exists'), { errors: [{ type: 'TOPIC_ALREADY_EXISTS' }] }) });
    await expect(ensureTopics(f.admin, 'spec', ['ingested'])).resolves.toEqual({ created: [ingested], existing: [] });
  });

  it('fails on any other creation error', async () => {
    const f = fakeAdmin({}, { createError: Object.assign(new Error('policy violation'), { type: 'POLICY_VIOLATION' }) });
    await expect(ensureTopics(f.admin, 'spec', ['ingested'])).rejects.toThrow('policy violation');
  });
});

describe('waitForTopicLeaders', () => {
  it('returns once every partition has a leader that answers', async () => {
    const f = fakeAdmin({ [ingested]: 3 });
    await expect(waitForTopicLeaders(f.admin, ingested, 3)).resolves.toBeUndefined();
  });

  it('fails at its deadline, naming the topic, while partitions have no leader', async () => {
    const f = fakeAdmin({ [ingested]: 3 }, { leaderless: true });
    await expect(waitForTopicLeaders(f.admin, ingested, 3, 0)).rejects.toThrow(`topic ${ingested}: 3 serving partition leaders not seen within 0 ms`);
  });
});
