import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { backOff } from 'exponential-backoff';
import { LRUCache } from 'lru-cache';
import { ContractError } from './errors';
import { loadSchema } from './schemas';
import { TOPICS, topicName, valueSubject, type TopicKey, type TopicValue } from './topics';

export interface ContractRegistryOptions {
  /** Base URL of the Confluent-compatible API (Apicurio: `<base>/apis/ccompat/v7`). */
  url: string;
  topicPrefix: string;
  /**
   * How long a schema id the registry answers 404 for is asked again (with backoff) before
   * it is declared unknown (SCHEMA_NOT_FOUND, dead-lettered by the stages). A registry that
   * is restarting or a replica that is behind answers 404 for ids that exist. Default 10 s.
   */
  schemaNotFoundRetryMs?: number;
  /** How long an id confirmed unknown is remembered, so a flood of such records does not wait each time. Default 60 s. */
  unknownSchemaTtlMs?: number;
}

export interface Decoded<T> {
  schemaId: number;
  value: T;
}

const MAGIC_BYTE = 0;

/** The wait after `failed` lookups of a schema id answered 404: 100 ms doubling, at most 2 s (as backOff below waits). */
const notFoundDelay = (failed: number) => Math.min(2000, 100 * 2 ** (failed - 1));

/**
 * The project's view of the schema registry: registers every topic's value schema under
 * `<topic>-value` with BACKWARD compatibility, encodes with the Confluent wire format
 * (magic byte 0 + 4-byte big-endian schema id + Avro body) and decodes any writer schema
 * registered under the subject into our reader schema.
 *
 * Registry I/O (register, fetch a schema by id, caching) goes through
 * @kafkajs/confluent-schema-registry. Decoding keeps its own cache of reader types and
 * writer→reader resolvers: the library's `decode(…, { readerSchema })` re-parses the
 * reader schema on every message, which is far too slow on a consumer's hot path.
 */
export class ContractRegistry {
  readonly client: SchemaRegistry;
  private readonly ids = new Map<TopicKey, number>();
  private readonly readers = new Map<TopicKey, avro.Type>();
  private readonly resolvers = new Map<string, { writer: avro.Type; resolver: avro.Resolver | null }>();
  /** Ids the registry kept answering 404 for, until that verdict expires (bounded). */
  private readonly unknownIds: LRUCache<number, true>;

  constructor(private readonly options: ContractRegistryOptions) {
    this.client = new SchemaRegistry({ host: options.url, retry: { retries: 3 } });
    this.unknownIds = new LRUCache({ max: 10_000, ttl: Math.max(1, options.unknownSchemaTtlMs ?? 60000) });
  }

  get url(): string {
    return this.options.url;
  }

  /**
   * Registers the value schema of each topic (idempotent: the same schema gets the same
   * id) and pins the subject's compatibility to BACKWARD, so a consumer on the new schema
   * can always read data written with the previous one.
   */
  async registerAll(keys: readonly TopicKey[] = Object.keys(TOPICS) as TopicKey[]): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const key of keys) {
      const subject = valueSubject(this.options.topicPrefix, key);
      const schema = loadSchema(TOPICS[key].schema);
      const id = await this.registerOne(subject, schema);
      this.ids.set(key, id);
      result[subject] = id;
    }
    return result;
  }

  /**
   * Several services register at boot at the same moment. On a brand-new subject the
   * registry may then answer a transient 409 to the loser (Apicurio: "A rule named
   * 'COMPATIBILITY' already exists"); a short retry finds the subject in place.
   */
  private async registerOne(subject: string, schema: object, attempts = 5): Promise<number> {
    try {
      return await backOff(
        async () => {
          const { id } = await this.client.register(
            { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
            { subject, compatibility: COMPATIBILITY.BACKWARD },
          );
          await this.setCompatibility(subject, 'BACKWARD');
          return id;
        },
        { numOfAttempts: attempts, startingDelay: 200, maxDelay: 1000, jitter: 'full' },
      );
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      throw new ContractError(
        status === 409 ? 'INCOMPATIBLE_SCHEMA' : 'REGISTRY_UNAVAILABLE',
        `Could not register ${subject} at ${this.options.url}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /** PUT /config/<subject>; the library only sets it on first registration. */
  async setCompatibility(subject: string, level: 'BACKWARD'): Promise<void> {
    const res = await fetch(`${this.options.url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
    });
    if (!res.ok) {
      throw new ContractError('REGISTRY_UNAVAILABLE', `PUT config ${subject} answered ${res.status}`);
    }
  }

  schemaIdOf(key: TopicKey): number {
    const id = this.ids.get(key);
    if (id === undefined) {
      throw new ContractError('SCHEMA_NOT_FOUND', `Schema of ${key} not registered yet; call registerAll() first`);
    }
    return id;
  }

  topic(key: TopicKey): string {
    return topicName(this.options.topicPrefix, key);
  }

  encode<K extends TopicKey>(key: K, value: TopicValue<K>): Promise<Buffer> {
    return this.client.encode(this.schemaIdOf(key), value).catch((cause: unknown) => {
      throw new ContractError('ENCODE_FAILED', `Value does not match ${TOPICS[key].schema}: ${(cause as Error).message}`, {
        cause,
      });
    });
  }

  /** Reads the schema id from the wire header; throws UNDECODABLE for non-Confluent bytes. */
  static schemaIdFromHeader(buffer: Buffer | null | undefined): number {
    if (!buffer || buffer.length < 5 || buffer[0] !== MAGIC_BYTE) {
      throw new ContractError(
        'UNDECODABLE',
        buffer && buffer.length >= 1 && buffer[0] !== MAGIC_BYTE
          ? `Not Confluent wire format: magic byte is ${buffer[0]}, expected 0`
          : 'Not Confluent wire format: message shorter than the 5-byte header',
      );
    }
    return buffer.readInt32BE(1);
  }

  async decode<K extends TopicKey>(key: K, buffer: Buffer | null): Promise<Decoded<TopicValue<K>>> {
    const schemaId = ContractRegistry.schemaIdFromHeader(buffer);
    const cacheKey = `${key}:${schemaId}`;
    let entry = this.resolvers.get(cacheKey);
    const reader = this.readerOf(key);
    if (!entry) {
      const writerSchema = await this.fetchWriterSchema(schemaId);
      const writer = writerSchema as avro.Type;
      let resolver: avro.Resolver | null = null;
      try {
        resolver = writer.equals(reader) ? null : reader.createResolver(writer);
      } catch (cause) {
        throw new ContractError('INCOMPATIBLE_SCHEMA', `Schema id ${schemaId} cannot be read as ${TOPICS[key].schema}: ${(cause as Error).message}`, { cause });
      }
      entry = { writer, resolver };
      this.resolvers.set(cacheKey, entry);
    }
    try {
      const body = (buffer as Buffer).subarray(5);
      const value = (entry.resolver ? reader.fromBuffer(body, entry.resolver) : reader.fromBuffer(body)) as TopicValue<K>;
      return { schemaId, value };
    } catch (cause) {
      throw new ContractError('UNDECODABLE', `Avro body does not match schema id ${schemaId}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /**
   * The writer schema of an id. A 404 is asked again with backoff for up to
   * `schemaNotFoundRetryMs` (the registry may be restarting or behind) before the id is
   * declared unknown; the verdict is then remembered for `unknownSchemaTtlMs`. Any other
   * failure is REGISTRY_UNAVAILABLE, which the stages treat as transient (never dead-lettered).
   */
  private async fetchWriterSchema(schemaId: number): Promise<unknown> {
    if (this.unknownIds.has(schemaId)) {
      throw new ContractError('SCHEMA_NOT_FOUND', `Schema id ${schemaId} is unknown to the registry (checked recently)`);
    }
    const budget = this.options.schemaNotFoundRetryMs ?? 10000;
    const started = Date.now();
    let lookups = 0;
    try {
      const schema = await backOff(
        () => {
          lookups++;
          return this.client.getSchema(schemaId);
        },
        {
          numOfAttempts: Infinity,
          startingDelay: 100,
          maxDelay: 2000,
          // Asked again only while the wait that comes next still ends within the budget.
          retry: (cause: { status?: number }, failed) => cause.status === 404 && Date.now() - started + notFoundDelay(failed) <= budget,
        },
      );
      this.unknownIds.delete(schemaId);
      return schema;
    } catch (cause) {
      if ((cause as { status?: number }).status !== 404) {
        throw new ContractError('REGISTRY_UNAVAILABLE', `Schema id ${schemaId} could not be fetched: ${(cause as Error).message}`, {
          cause,
        });
      }
      this.unknownIds.set(schemaId, true);
      throw new ContractError(
        'SCHEMA_NOT_FOUND',
        `Schema id ${schemaId} is unknown to the registry (404 for ${lookups} lookups over ${Date.now() - started} ms): ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /** Readiness probe: the registry answers its subjects list. */
  async ping(): Promise<void> {
    const res = await fetch(`${this.options.url}/subjects`);
    if (!res.ok) throw new ContractError('REGISTRY_UNAVAILABLE', `registry answered ${res.status}`);
  }

  private readerOf(key: TopicKey): avro.Type {
    let reader = this.readers.get(key);
    if (!reader) {
      reader = avro.Type.forSchema(loadSchema(TOPICS[key].schema) as avro.Schema);
      this.readers.set(key, reader);
    }
    return reader;
  }
}
