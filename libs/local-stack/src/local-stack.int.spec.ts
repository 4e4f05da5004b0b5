import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Type } from 'avsc';
import { Kafka, Partitioners, logLevel, type Admin, type EachBatchPayload } from 'kafkajs';
import { dropDatabase, startApicurio } from './index';

/**
 * Proves, against the Kafka and Apicurio Registry that the Jest global setup started, that
 * the clients Relay uses work with them: kafkajs 2.2.4 on Kafka 4.x, and
 * @kafkajs/confluent-schema-registry on Apicurio's Confluent-compatible API.
 */

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run with --selectProjects integration (global setup starts the stack)`);
  return value;
}

const brokers = env('RELAY_KAFKA_BROKERS').split(',');
const ccompatUrl = env('RELAY_REGISTRY_URL');
/** Apicurio's own v3 API, to look behind the Confluent-compatible ids. */
const coreUrl = ccompatUrl.replace(/\/apis\/ccompat\/v7\/?$/, '/apis/registry/v3');

const kafka = new Kafka({ clientId: 'local-stack-int', brokers, logLevel: logLevel.WARN });
const newProducer = () => kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

// Small local stand-ins for @relay/testing's helpers: that library depends on this one, so
// importing it here would make the two projects depend on each other.
const freshTopicName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
const uniqueGroupId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
/**
 * kafkajs's createTopics({ waitForLeaders: true }) is racy on KRaft, where a broker's metadata
 * runs ahead of its replica manager: metadata may briefly answer UNKNOWN_TOPIC_OR_PARTITION
 * (kafkajs then fails), and a partition listed with a leader may still refuse a produce with
 * NOT_LEADER_OR_FOLLOWER (kafkajs then re-sends the whole per-broker request: duplicates). So:
 * create without waiting, then wait until metadata shows leaders and ListOffsets, answered by
 * each leader replica, succeeds. (Same as waitForTopicLeaders() in @relay/testing.)
 */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const found = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
      if (found.length === partitions && found.every((p) => p.leader >= 0) && (await admin.fetchTopicOffsets(topic)).length === partitions) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`no serving leaders for ${topic}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
async function createTestTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: false });
    await waitForLeaders(admin, topic, numPartitions);
  } finally {
    await admin.disconnect();
  }
}
function parsePgUrl(pgUrl: string): { host: string; port: number; user: string; password?: string } {
  const url = new URL(pgUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || 'postgres',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    ...init,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json', ...init?.headers },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const orderV1 = {
  type: 'record',
  name: 'Order',
  namespace: 'relay.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'double' },
  ],
};
/** Adds a required field without default: old data cannot be read, so not BACKWARD compatible. */
const orderIncompatible = { ...orderV1, fields: [...orderV1.fields, { name: 'currency', type: 'string' }] };
/** Adds a field with a default: BACKWARD compatible. */
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };

const avro = (schema: object) => ({ type: SchemaType.AVRO as const, schema: JSON.stringify(schema) });

describe('Kafka 4.x with kafkajs 2.2.4', () => {
  it('creates a 6-partition topic, produces with acks=-1, consumes in batches with manual commits', async () => {
    const topic = freshTopicName('local-stack-kafka');
    const admin = kafka.admin();
    await admin.connect();
    const producer = newProducer();
    await producer.connect();
    const groupId = uniqueGroupId('local-stack');
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: false })).toBe(true);
      await waitForLeaders(admin, topic, 6);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(6);

      const messages = Array.from({ length: 120 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }));
      const acks = await producer.send({ topic, acks: -1, messages });
      expect(new Set(acks.map((a) => a.partition)).size).toBeGreaterThan(1);
      expect(acks.every((a) => a.errorCode === 0)).toBe(true);

      const consumeWithManualCommits = async (expected: number): Promise<string[]> => {
        const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        const seen: string[] = [];
        try {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${seen.length}/${expected} messages`)), 60000);
            consumer
              .run({
                autoCommit: false,
                eachBatchAutoResolve: false,
                eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets, heartbeat, isRunning, isStale }: EachBatchPayload) => {
                  for (const message of batch.messages) {
                    if (!isRunning() || isStale()) break;
                    seen.push(message.value?.toString() ?? '');
                    resolveOffset(message.offset);
                  }
                  // With autoCommit off, commitOffsetsIfNecessary() without arguments commits
                  // nothing (see the next test): hand it the resolved offsets explicitly.
                  await commitOffsetsIfNecessary(uncommittedOffsets());
                  await heartbeat();
                  if (seen.length >= expected) {
                    clearTimeout(timer);
                    resolve();
                  }
                },
              })
              .catch(reject);
          });
        } finally {
          await consumer.disconnect();
        }
        return seen;
      };

      const first = await consumeWithManualCommits(120);
      expect(first.sort()).toEqual(messages.map((m) => m.value).sort());

      // Committed offsets: end offset of every partition, so they sum to the message count.
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed?.partitions).toHaveLength(6);
      expect(committed?.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(120);

      // The same group resumes after the commits: it only sees what was produced since.
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: 'late', value: 'late-1' },
          { key: 'late', value: 'late-2' },
        ],
      });
      expect(await consumeWithManualCommits(2)).toEqual(['late-1', 'late-2']);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('pitfall: with autoCommit false, commitOffsetsIfNecessary() without offsets commits nothing', async () => {
    const topic = freshTopicName('local-stack-nocommit');
    await createTestTopic(topic, 1);
    const producer = newProducer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    const groupId = uniqueGroupId('local-stack-nocommit');
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
              for (const message of batch.messages) resolveOffset(message.offset);
              // kafkajs only commits here when autoCommitInterval/autoCommitThreshold is due.
              await commitOffsetsIfNecessary();
              seen += batch.messages.length;
              if (seen >= 2) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(offsets?.partitions.map((p) => p.offset)).toEqual(['-1']);
    } finally {
      await admin.disconnect();
    }
  });

  it('does not auto-create topics', async () => {
    const topic = freshTopicName('local-stack-missing');
    // Its own client with logging off: the expected UNKNOWN_TOPIC_OR_PARTITION errors are noise.
    const quiet = new Kafka({ clientId: 'local-stack-int-quiet', brokers, logLevel: logLevel.NOTHING });
    const producer = quiet.producer({
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 1, initialRetryTime: 100 },
    });
    await producer.connect();
    try {
      await expect(producer.send({ topic, acks: -1, messages: [{ value: 'x' }] })).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('Apicurio Registry ccompat API with @kafkajs/confluent-schema-registry', () => {
  it('registers, encodes with the contentId in the header, resolves the id, and enforces BACKWARD', async () => {
    const registry = new SchemaRegistry({ host: ccompatUrl });
    const topic = freshTopicName('local-stack-orders');
    const subject = `${topic}-value`;

    const { id } = await registry.register(avro(orderV1), { subject });
    expect(Number.isInteger(id)).toBe(true);

    // Explicit subject-level compatibility, as the platform will set it.
    const put = await json<{ compatibility: string }>(`${ccompatUrl}/config/${subject}`, {
      method: 'PUT',
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    expect(put.status).toBe(200);
    expect((await json<{ compatibilityLevel: string }>(`${ccompatUrl}/config/${subject}`)).body.compatibilityLevel).toBe('BACKWARD');

    // Registering the same schema again is idempotent: same id, no new version.
    expect((await registry.register(avro(orderV1), { subject })).id).toBe(id);
    // So is the same schema written differently (key order, whitespace) thanks to
    // apicurio.ccompat.use-canonical-hash=true; and lookup by content finds it (#4831).
    const reformatted = `{ "namespace": "relay.test", "name": "Order", "type": "record",\n  "fields": [ {"type": "string", "name": "id"}, {"type": "double", "name": "amount"} ] }`;
    expect((await registry.register({ type: SchemaType.AVRO as const, schema: reformatted }, { subject })).id).toBe(id);
    expect(await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO as const, schema: reformatted })).toBe(id);
    expect((await json<number[]>(`${ccompatUrl}/subjects/${subject}/versions`)).body).toEqual([1]);

    // Confluent wire format: magic byte 0, then the schema id as a big-endian int32.
    const payload = { id: 'o-1', amount: 9.5 };
    const encoded = await registry.encode(id, payload);
    expect(encoded.readUInt8(0)).toBe(0);
    const headerId = encoded.readInt32BE(1);
    expect(headerId).toBe(id);

    // The header id resolves, through a client without cache and through plain HTTP.
    const fresh = new SchemaRegistry({ host: ccompatUrl });
    const resolved = (await fresh.getSchema(headerId)) as Type;
    expect(resolved.equals(Type.forSchema(orderV1 as never))).toBe(true);
    const byId = await json<{ schema: string }>(`${ccompatUrl}/schemas/ids/${headerId}`);
    expect(byId.status).toBe(200);
    expect(Type.forSchema(JSON.parse(byId.body.schema) as never).equals(Type.forSchema(orderV1 as never))).toBe(true);
    expect(await fresh.decode(encoded)).toEqual(payload);

    // Which Apicurio id is on the wire (issue #1874)? With legacy-id-mode off it is the
    // contentId: the same content under a second subject gets the same id, while that
    // subject's version has its own globalId.
    const otherSubject = `${freshTopicName('local-stack-orders-copy')}-value`;
    expect((await registry.register(avro(orderV1), { subject: otherSubject })).id).toBe(id);
    const meta = await json<{ globalId: number; contentId: number }>(`${coreUrl}/groups/default/artifacts/${otherSubject}/versions/1`, {
      headers: { 'Content-Type': 'application/json' },
    });
    expect(meta.status).toBe(200);
    expect(meta.body.contentId).toBe(headerId);
    expect(meta.body.globalId).not.toBe(headerId);

    // BACKWARD: a new required field is refused (409), a field with a default is accepted.
    const check = await json<{ is_compatible: boolean }>(`${ccompatUrl}/compatibility/subjects/${subject}/versions/latest`, {
      method: 'POST',
      body: JSON.stringify({ schema: JSON.stringify(orderIncompatible) }),
    });
    expect(check.body.is_compatible).toBe(false);
    await expect(registry.register(avro(orderIncompatible), { subject })).rejects.toThrow(/incompatible|409/i);
    const v2 = await registry.register(avro(orderV2), { subject });
    expect(v2.id).not.toBe(id);
    expect(await registry.getLatestSchemaId(subject)).toBe(v2.id);
  });

  it('carries registry-encoded messages through Kafka', async () => {
    const registry = new SchemaRegistry({ host: ccompatUrl });
    const topic = freshTopicName('local-stack-avro');
    await createTestTopic(topic, 1);
    const { id } = await registry.register(avro(orderV1), { subject: `${topic}-value` });
    const producer = newProducer();
    await producer.connect();
    const consumer = kafka.consumer({ groupId: uniqueGroupId('local-stack-avro') });
    await consumer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: await registry.encode(id, { id: 'o-2', amount: 1.25 }) }] });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const decoded = await new Promise<unknown>((resolve, reject) => {
        consumer.run({ eachMessage: async ({ message }) => resolve(await registry.decode(message.value as Buffer)) }).catch(reject);
      });
      expect(decoded).toEqual({ id: 'o-2', amount: 1.25 });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  });

  it("kafkajs's register() refuses a subject whose compatibility differs from its option (pitfall)", async () => {
    // The client checks GET /config/{subject} before registering. Apicurio answers 404 for
    // an unknown subject (the client then sets BACKWARD itself) but NONE for an existing
    // subject without a rule, which the client's default (BACKWARD) rejects.
    const registry = new SchemaRegistry({ host: ccompatUrl });
    const subject = `${freshTopicName('local-stack-norule')}-value`;
    const raw = await json<{ id: number }>(`${ccompatUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schema: JSON.stringify(orderV1) }),
    });
    expect(raw.status).toBe(200);
    expect((await json<{ compatibilityLevel: string }>(`${ccompatUrl}/config/${subject}`)).body.compatibilityLevel).toBe('NONE');
    await expect(registry.register(avro(orderV1), { subject })).rejects.toThrow(/Compatibility does not match/);
    expect((await registry.register(avro(orderV1), { subject, compatibility: 'NONE' as never })).id).toBe(raw.body.id);
  });
});

describe('Apicurio Registry storage', () => {
  it('keeps schemas, ids and compatibility across a restart (SQL storage on PostgreSQL)', async () => {
    const pg = parsePgUrl(env('RELAY_PG_URL'));
    const database = `relay_it_restart_${process.pid}_${randomBytes(4).toString('hex')}`;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'relay-apicurio-restart-'));
    const start = () => startApicurio({ dataDir, postgres: { ...pg, database }, log: () => undefined });
    let registry = await start();
    try {
      const client = new SchemaRegistry({ host: registry.ccompatUrl });
      const subject = `${freshTopicName('local-stack-durable')}-value`;
      const { id } = await client.register(avro(orderV1), { subject });
      await json(`${registry.ccompatUrl}/config/${subject}`, { method: 'PUT', body: JSON.stringify({ compatibility: 'BACKWARD' }) });

      await registry.stop();
      registry = await start();

      const byId = await json<{ schema: string }>(`${registry.ccompatUrl}/schemas/ids/${id}`);
      expect(byId.status).toBe(200);
      expect(Type.forSchema(JSON.parse(byId.body.schema) as never).equals(Type.forSchema(orderV1 as never))).toBe(true);
      expect((await json<string[]>(`${registry.ccompatUrl}/subjects`)).body).toContain(subject);
      expect((await json<{ compatibilityLevel: string }>(`${registry.ccompatUrl}/config/${subject}`)).body.compatibilityLevel).toBe('BACKWARD');
      const after = new SchemaRegistry({ host: registry.ccompatUrl });
      expect((await after.register(avro(orderV1), { subject })).id).toBe(id);
      await expect(after.register(avro(orderIncompatible), { subject })).rejects.toThrow(/incompatible|409/i);
    } finally {
      await registry.stop();
      await dropDatabase({ ...pg, database });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300000);
});
